"""Embedding cache: never re-embed a known (model, content hash); order and model isolation hold."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.cache import EmbeddingCache, embed_with_cache

TEXTS = [
    "Faiss performs exact inner-product search.",
    "量子计算的基本原理是叠加和纠缠。",
    "The Great Wall stretches across northern China.",
    "长城横跨中国北方。",
    "Embeddings map text to vectors.",
]


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


HASHES = [_h(t) for t in TEXTS]


@pytest.fixture
def cache(tmp_path: Path, fake_embedder) -> Iterator[EmbeddingCache]:
    with EmbeddingCache(
        tmp_path / "cache" / "embeddings.sqlite", fake_embedder.model_id, fake_embedder.dim
    ) as c:
        yield c


def test_vectors_match_the_embedder_in_input_order(cache, fake_embedder) -> None:
    got = embed_with_cache(fake_embedder, TEXTS, HASHES, cache, batch_size=2)
    want = fake_embedder.encode_documents(TEXTS)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), fake_embedder.dim)
    np.testing.assert_allclose(got, want)


def test_second_call_embeds_nothing(cache, fake_embedder) -> None:
    first = embed_with_cache(fake_embedder, TEXTS, HASHES, cache)
    assert fake_embedder.calls == len(TEXTS)
    second = embed_with_cache(fake_embedder, TEXTS, HASHES, cache)
    assert fake_embedder.calls == len(TEXTS)
    np.testing.assert_array_equal(first, second)


def test_order_preserved_when_hits_and_misses_interleave(cache, fake_embedder) -> None:
    embed_with_cache(fake_embedder, TEXTS[1::2], HASHES[1::2], cache)
    fake_embedder.calls = 0
    rev_t, rev_h = TEXTS[::-1], HASHES[::-1]
    got = embed_with_cache(fake_embedder, rev_t, rev_h, cache, batch_size=1)
    assert fake_embedder.calls == 3  # only the ones not cached before
    np.testing.assert_allclose(got, fake_embedder.encode_query(rev_t))


def test_changed_hash_embeds_only_that_text(cache, fake_embedder) -> None:
    embed_with_cache(fake_embedder, TEXTS, HASHES, cache)
    texts = list(TEXTS)
    texts[2] = "The Great Wall stretches across northern China, rebuilt under the Ming."
    hashes = [_h(t) for t in texts]
    fake_embedder.calls = 0
    got = embed_with_cache(fake_embedder, texts, hashes, cache)
    assert fake_embedder.calls == 1
    np.testing.assert_allclose(got[2], fake_embedder.encode_query([texts[2]])[0])


def test_cache_is_shared_across_instances_and_persists(tmp_path: Path, fake_embedder) -> None:
    path = tmp_path / "shared.sqlite"
    with EmbeddingCache(path, fake_embedder.model_id, fake_embedder.dim) as c:
        embed_with_cache(fake_embedder, TEXTS, HASHES, c)
    fake_embedder.calls = 0
    with EmbeddingCache(path, fake_embedder.model_id, fake_embedder.dim) as c:
        embed_with_cache(fake_embedder, TEXTS, HASHES, c)
        assert len(c) == len(TEXTS)
    assert fake_embedder.calls == 0


def test_different_model_id_does_not_share_vectors(tmp_path: Path, fake_embedder) -> None:
    path = tmp_path / "shared.sqlite"
    with EmbeddingCache(path, fake_embedder.model_id, fake_embedder.dim) as c:
        embed_with_cache(fake_embedder, TEXTS, HASHES, c)
    with EmbeddingCache(path, "other/model", fake_embedder.dim) as other:
        assert other.get_many(HASHES) == {}
        fake_embedder.calls = 0
        embed_with_cache(fake_embedder, TEXTS, HASHES, other)
        assert fake_embedder.calls == len(TEXTS)


def test_duplicate_texts_are_embedded_once(cache, fake_embedder) -> None:
    texts = [TEXTS[0], TEXTS[1], TEXTS[0]]
    got = embed_with_cache(fake_embedder, texts, [_h(t) for t in texts], cache)
    assert fake_embedder.calls == 2
    np.testing.assert_array_equal(got[0], got[2])


def test_progress_reports_every_batch_and_totals_input(cache, fake_embedder) -> None:
    seen: list[int] = []
    embed_with_cache(fake_embedder, TEXTS, HASHES, cache, batch_size=2, progress=seen.append)
    assert seen == [2, 2, 1]
    seen.clear()
    embed_with_cache(fake_embedder, TEXTS, HASHES, cache, batch_size=2, progress=seen.append)
    assert sum(seen) == len(TEXTS)


def test_empty_input(cache, fake_embedder) -> None:
    got = embed_with_cache(fake_embedder, [], [], cache)
    assert got.shape == (0, fake_embedder.dim)
    assert fake_embedder.calls == 0


def test_mismatched_lengths_and_dimensions_are_rejected(cache, fake_embedder) -> None:
    with pytest.raises(ValueError):
        embed_with_cache(fake_embedder, TEXTS, HASHES[:2], cache)
    with pytest.raises(ValueError, match="dimensions"):
        cache.put_many({"x": np.ones(3, dtype=np.float32)})


def test_uses_wal_and_a_concurrent_reader_sees_committed_rows(cache, fake_embedder) -> None:
    embed_with_cache(fake_embedder, TEXTS[:2], HASHES[:2], cache)
    reader = sqlite3.connect(str(cache.path))
    try:
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert reader.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 2
    finally:
        reader.close()
    with EmbeddingCache(cache.path, cache.model_id, cache.dim) as second:
        assert set(second.get_many(HASHES)) == set(HASHES[:2])


def test_a_pair_reuses_what_either_model_embedded_before(tmp_path: Path, fake_embedder) -> None:
    from index.cache import cached_hashes
    from index.embed import PairedEmbedder
    from tests.index.test_embed import _Renamed

    path = tmp_path / "e.sqlite"
    texts, hashes = ["一", "two"], ["h1", "h2"]
    with EmbeddingCache(path, fake_embedder.model_id, fake_embedder.dim) as c:
        embed_with_cache(fake_embedder, texts, hashes, c)  # the first model alone, as an old index did
    assert fake_embedder.calls == 2
    second = _Renamed(fake_embedder, "usem3/fake")
    pair = PairedEmbedder(fake_embedder, second)
    with EmbeddingCache(path, pair.model_id, pair.dim) as c:
        assert cached_hashes(pair, c, hashes) == set()  # the second model has not seen them
        v = embed_with_cache(pair, texts, hashes, c)
        assert fake_embedder.calls == 4  # only the second model's two texts (it wraps the same fake)
        assert cached_hashes(pair, c, hashes) == {"h1", "h2"}
        again = embed_with_cache(pair, texts, hashes, c)
        assert fake_embedder.calls == 4  # all cached now
    np.testing.assert_allclose(again, v)
    np.testing.assert_allclose(v, pair.encode_documents(texts), atol=1e-6)
