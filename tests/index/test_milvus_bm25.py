"""BM25, chunk rows and filters in the Milvus collection (Milvus Lite, in process): what a deployment
on a Milvus cluster searches without the index directory's own BM25 (``RAG_LEXICAL_BACKEND=milvus``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.build import Source, build_index
from index.errors import ConfigError
from index.lexical import RemoteLexical
from index.lexicon import Lexicon
from index.snapshot import load_snapshot
from index.store import milvus_filter

pytestmark = pytest.mark.milvus

DOCS = [
    Source(
        f"n{i}.md",
        f"# Note {i}\n\n智通财经 · 2026-01-{i + 10:02d} 09:00\n\n"
        f"Unit {i} sold {i * 7} optical modules in quarter {i % 4 + 1}. 第{i}号工厂的光模块出货量增长。\n",
    )
    for i in range(8)
]


@pytest.fixture(scope="module")
def lexicon(tmp_path_factory: pytest.TempPathFactory) -> Lexicon:
    return Lexicon.load(tmp_path_factory.mktemp("lexcache"))


@pytest.fixture
def snapshot(tmp_path: Path, fake_embedder, lexicon):  # type: ignore[no-untyped-def]
    pytest.importorskip("pymilvus")
    build_index(tmp_path, fake_embedder, upsert=DOCS, lexicon=lexicon, store="milvus")
    snap = load_snapshot(tmp_path, fake_embedder.model_id, fake_embedder.dim)
    yield snap
    snap.close()


def test_milvus_bm25_scores_as_the_local_index(snapshot) -> None:  # type: ignore[no-untyped-def]
    remote = RemoteLexical(snapshot.lexical, snapshot.store)
    for field, terms in (
        ("text", {"optical": 1.0, "modules": 1.0, "3": 1.0}),
        ("text", {"光模块": 1.0, "工厂": 0.5}),
        ("gloss", {"optic": 1.0, "modul": 1.0, "factori": 1.0}),
    ):
        local = snapshot.lexical.scores(field, terms)
        got = remote.scores(field, terms)
        assert local.max() > 0 and np.allclose(got, local, rtol=1e-4, atol=1e-6), (field, terms)


def test_the_collection_holds_each_chunks_row_for_its_citation(snapshot) -> None:  # type: ignore[no-untyped-def]
    ids = list(range(snapshot.size))
    rows = snapshot.store.rows(ids)
    for i in ids:
        c = snapshot.chunks[i]
        r = rows[i]
        assert (r["doc"], r["start"], r["stop"], r["text"]) == (c.doc, c.start, c.end, c.text)
        assert r["date"] == (c.date or "") and r["source"] == (c.source or "")


def test_filters_are_applied_in_milvus(snapshot, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    remote = RemoteLexical(snapshot.lexical, snapshot.store)
    where = milvus_filter(docs=["n2.md", "n5.md"])
    sc = remote.scores("text", {"optical": 1.0, "modules": 1.0}, where)
    assert {snapshot.chunks[int(i)].doc for i in np.flatnonzero(sc)} == {"n2.md", "n5.md"}
    dated = milvus_filter(date_from="2026-01-12", date_to="2026-01-13")
    q = fake_embedder.encode_query(["optical modules"])
    _, ids = snapshot.store.search(q, 10, dated)
    assert {snapshot.chunks[int(i)].doc for i in ids[0] if i >= 0} == {"n2.md", "n3.md"}
    assert milvus_filter(sources=['a"b']) == 'source in ["a\\"b"]'


def test_the_engine_searches_bm25_in_milvus(tmp_path: Path, fake_embedder, shared_cache) -> None:  # type: ignore[no-untyped-def]
    from rag.engine import Engine
    from rag.settings import Settings
    from rag.types import Filters

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for src in DOCS:
        (corpus / src.doc).write_text(src.text, encoding="utf-8")
    common = {"data_dir": tmp_path / "data", "corpus": corpus, "cache": shared_cache}
    questions = ["Unit 5 sold optical modules", "第3号工厂的光模块出货量", "quarter 2 optical modules"]
    local = Engine.open(Settings(**common, vector_store="milvus"), embedder=fake_embedder)
    try:
        expect = [[(h.chunk.id, round(h.score, 4)) for h in local.search(q, k=5)] for q in questions]
        answers = [local.ask(q).text for q in questions]
    finally:
        local.close()
        local.snapshot.close()
    eng = Engine.open(
        Settings(**common, vector_store="milvus", lexical_backend="milvus"), embedder=fake_embedder
    )
    try:
        assert isinstance(eng.snapshot.lexical, RemoteLexical) and eng.stats()["lexical"] == "milvus"
        # the same ranking and answers as with the index directory's own BM25
        assert [[(h.chunk.id, round(h.score, 4)) for h in eng.search(q, k=5)] for q in questions] == expect
        assert [eng.ask(q).text for q in questions] == answers
        assert eng.search("Unit 5 sold optical modules", k=3)[0].chunk.doc == "n5.md"
        only = eng.search("optical modules", k=5, filters=Filters(docs=("n1.md", "n6.md")))
        assert only and {h.chunk.doc for h in only} <= {"n1.md", "n6.md"}
    finally:
        eng.close()
        eng.snapshot.close()


def test_filters_reach_milvus_with_the_local_bm25(tmp_path: Path, fake_embedder, shared_cache) -> None:  # type: ignore[no-untyped-def]
    """Vectors in Milvus, BM25 here: the vector search is filtered in Milvus (asking Milvus for
    every vector and filtering here would stop at its result limit), BM25 here."""
    from rag.engine import Engine
    from rag.settings import Settings
    from rag.types import Filters

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for src in DOCS:
        (corpus / src.doc).write_text(src.text, encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", corpus=corpus, cache=shared_cache, vector_store="milvus")
    eng = Engine.open(settings, embedder=fake_embedder)
    try:
        for mode in ("dense", "lexical", "hybrid"):
            got = eng.search("optical modules", k=5, mode=mode, filters=Filters(date_from="2026-01-16"))
            assert got and {h.chunk.doc for h in got} <= {"n6.md", "n7.md"}, mode
    finally:
        eng.close()
        eng.snapshot.close()


def test_milvus_bm25_needs_the_milvus_store(tmp_path: Path, fake_embedder, shared_cache) -> None:  # type: ignore[no-untyped-def]
    from rag.engine import Engine
    from rag.settings import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text(DOCS[0].text, encoding="utf-8")
    common = {"data_dir": tmp_path / "data", "corpus": corpus, "cache": shared_cache}
    with pytest.raises(ConfigError, match="RAG_VECTOR_STORE=milvus"):
        Engine.open(Settings(**common, lexical_backend="milvus"), embedder=fake_embedder)
    with pytest.raises(ConfigError, match="choose one of local, milvus"):
        Engine.open(Settings(**common, lexical_backend="elastic"), embedder=fake_embedder)
