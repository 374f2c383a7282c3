"""The scale benchmark end to end at a tiny size, with the fake embedder and a lowered IVF threshold."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.bench_scale import Config, main, markdown, run, write_reports
from eval.synth import TokenisedSentences, make_chunks, noise_scale, read_sentences, vectors_for
from index.lexicon import Lexicon

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
FIELDS = {
    "chunks", "build_s", "disk_gib", "rss_gib", "startup_s", "search_p50_ms", "search_p95_ms",
    "lexical_p50_ms", "lexical_p95_ms", "embed_query_ms", "upload_s", "upload_build_s",
    "upload_reload_s", "ann_recall_at_10", "vector_index", "lexical_shards", "segments_after_upload",
}  # fmt: skip


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from tests.conftest import FakeEmbedder

    tmp = tmp_path_factory.mktemp("scale")
    cfg = Config(
        chunks=[300, 2000],
        sources=[SEEDS],
        sample=240,
        queries=40,
        ivf_threshold=1000,
        cache=tmp / "cache",
        workdir=tmp,
    )
    return run(cfg, FakeEmbedder())


def test_each_size_reports_every_measure(result: dict) -> None:
    assert [r["chunks"] for r in result["runs"]] == [300, 2000]
    for r in result["runs"]:
        assert set(r) >= FIELDS
        assert r["disk_gib"] > 0 and r["rss_gib"] > 0 and r["search_p95_ms"] >= r["search_p50_ms"] > 0
        assert r["lexical_p95_ms"] >= r["lexical_p50_ms"] > 0
        assert r["upload_s"] == pytest.approx(r["upload_build_s"] + r["upload_reload_s"], abs=0.002)
        assert r["upload_chunks"] > 0


def test_the_store_is_exact_below_the_threshold_and_ivf_above(result: dict) -> None:
    small, large = result["runs"]
    assert small["vector_index"] == {"kind": "flat"} and small["ann_recall_at_10"] == 1.0
    assert large["vector_index"]["kind"] == "ivf"
    assert 0 < large["ann_recall_at_10"] <= 1.0


def test_the_upload_is_a_new_segment_of_the_index(result: dict) -> None:
    # a ten-chunk document beside 300 and 2,000 chunks is under the merge policy's share: it is
    # written as a segment of its own, not as a rewrite of the index
    assert [r["segments_after_upload"] for r in result["runs"]] == [2, 2]


def test_reports_are_written_beside_the_json(result: dict, tmp_path: Path) -> None:
    out = tmp_path / "bench" / "scale.json"
    write_reports(result, out, None, None)
    assert json.loads(out.read_text())["runs"][1]["chunks"] == 2000
    table = (tmp_path / "bench" / "scale.md").read_text()
    assert "| 2,000 | 1 | ivf " in table and markdown(result) == table
    assert (tmp_path / "bench" / "scale.png").read_bytes()[:4] == b"\x89PNG"


def test_synthetic_chunks_start_with_their_sample_sentence_and_stay_near_its_vector(tmp_path: Path) -> None:
    sentences = read_sentences([SEEDS])
    assert len(sentences) > 500 and len(set(sentences)) == len(sentences)
    pool = TokenisedSentences.of(sentences[:300], Lexicon.load(tmp_path))
    chunks = make_chunks(90, list(range(30)), pool, seed=1)
    assert sorted(np.bincount(chunks.base).tolist()) == [3] * 30  # every sample sentence used evenly
    for b, sent in zip(chunks.base, chunks.sentences, strict=True):
        assert sent[0] == b
    text, gloss = chunks.tokens(pool)
    assert text[0] == [t for i in chunks.sentences[0] for t in pool.tokens[i]]
    rng = np.random.default_rng(0)
    sample = rng.standard_normal((30, 16)).astype(np.float32)
    sample /= np.linalg.norm(sample, axis=1, keepdims=True)
    vecs = vectors_for(sample, chunks.base, noise_scale(sample, 0.5), seed=2)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    assert ((vecs @ sample.T).argmax(axis=1) == chunks.base).all()  # each stays nearest its own sentence


def test_an_unknown_embedder_is_refused_before_any_work() -> None:
    from index.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown embedder"):
        main(["--chunks", "10", "--embedder", "nope", "--sources", str(SEEDS)])
