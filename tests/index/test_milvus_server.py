"""The vector store on a Milvus server over the network: Milvus Lite's gRPC server, started here, is
the same protocol a Milvus Standalone or Distributed cluster speaks (``RAG_MILVUS_URI``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import index.build as build_mod
from index.build import Source, build_index, current_generation
from index.lexicon import Lexicon
from index.snapshot import load_snapshot

pytestmark = pytest.mark.milvus

DOCS = [
    Source(f"n{i}.md", f"# Note {i}\n\nUnit {i} sold {i * 7} optical modules in quarter {i % 4 + 1}.\n")
    for i in range(12)
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("pymilvus")
    port = _free_port()
    data = tmp_path_factory.mktemp("milvus-server")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "milvus_lite",
            "server",
            "--data-dir",
            str(data),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Milvus Lite server did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def lexicon(tmp_path_factory: pytest.TempPathFactory) -> Lexicon:
    return Lexicon.load(tmp_path_factory.mktemp("lexcache"))


def _collections(uri: str) -> set[str]:
    from pymilvus import MilvusClient

    c = MilvusClient(uri=uri)
    try:
        return {n for n in c.list_collections() if n.startswith("rag_")}
    finally:
        c.close()


def test_an_index_on_the_server_searches_like_faiss(
    tmp_path: Path, server: str, fake_embedder, lexicon
) -> None:
    build_index(tmp_path / "faiss", fake_embedder, upsert=DOCS, lexicon=lexicon)
    build_index(
        tmp_path / "milvus",
        fake_embedder,
        upsert=DOCS,
        lexicon=lexicon,
        store="milvus",
        vector_options={"uri": server},
    )
    gen = current_generation(tmp_path / "milvus")
    assert gen is not None and (gen / "vectors" / "milvus.json").is_file()
    assert not (gen / "vectors" / "milvus.db").exists()  # the vectors live on the server
    local = load_snapshot(tmp_path / "faiss", fake_embedder.model_id, fake_embedder.dim)
    remote = load_snapshot(tmp_path / "milvus", fake_embedder.model_id, fake_embedder.dim)
    assert len(remote.store) == len(local.store) == local.size
    q = fake_embedder.encode_query(["optical modules quarter 3", "unit 5"])
    ls, li = local.store.search(q, 5)
    rs, ri = remote.store.search(q, 5)
    # the same top scores; ids may differ only among equal scores (ties order as each engine likes)
    assert np.allclose(ls, rs, atol=1e-5)
    vecs = fake_embedder.encode_documents([c.embed_text for c in local.chunks])
    for row in range(len(q)):
        assert np.allclose(vecs[ri[row]] @ q[row], rs[row], atol=1e-5)
    remote.close()


def test_pruned_and_failed_generations_drop_their_collections(
    tmp_path: Path, server: str, fake_embedder, lexicon, monkeypatch
) -> None:
    before = _collections(server)
    opts = {"uri": server}
    for i in range(3):
        build_index(
            tmp_path,
            fake_embedder,
            upsert=DOCS[: 4 + i],
            lexicon=lexicon,
            store="milvus",
            vector_options=opts,
        )
    # the live generation and the one before it keep their collections; the first one's is dropped
    assert len(_collections(server) - before) == 2

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(build_mod, "save_lexical_parts", boom)
    live = current_generation(tmp_path)
    with pytest.raises(Exception, match="space"):
        build_index(
            tmp_path, fake_embedder, upsert=DOCS, lexicon=lexicon, store="milvus", vector_options=opts
        )
    assert current_generation(tmp_path) == live and len(_collections(server) - before) == 2
    snap = load_snapshot(tmp_path, fake_embedder.model_id, fake_embedder.dim)
    assert len(snap.store) == snap.size
    snap.close()


def _engine_on(server: str, tmp_path: Path, fake_embedder, shared_cache, **settings: object):  # type: ignore[no-untyped-def]
    """The service over ``DOCS`` with its vectors on the Milvus server."""
    from rag.engine import Engine
    from rag.settings import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for src in DOCS:
        (corpus / src.doc).write_text(src.text, encoding="utf-8")
    return Engine.open(
        Settings(
            data_dir=tmp_path / "data",
            corpus=corpus,
            cache=shared_cache,
            vector_store="milvus",
            milvus_uri=server,
            **settings,
        ),
        embedder=fake_embedder,
    )


def test_the_service_runs_on_the_server(tmp_path: Path, server: str, fake_embedder, shared_cache) -> None:  # type: ignore[no-untyped-def]
    eng = _engine_on(server, tmp_path, fake_embedder, shared_cache)
    try:
        assert eng.stats()["vector_store"] == "milvus"
        assert eng.search("Unit 5 sold optical modules", k=3)[0].chunk.doc == "n5.md"
        eng.add_document("up.md", "# Upload\n\nUnit 99 sold 693 optical modules in quarter 4.\n")
        assert eng.search("Unit 99 optical modules", k=3)[0].chunk.doc == "up.md"
    finally:
        eng.close()


def test_bm25_and_filters_run_on_the_server(tmp_path: Path, server: str, fake_embedder, shared_cache) -> None:  # type: ignore[no-untyped-def]
    from index.lexical import RemoteLexical
    from rag.types import Filters

    eng = _engine_on(server, tmp_path, fake_embedder, shared_cache, lexical_backend="milvus")
    try:
        snap = eng.snapshot
        assert isinstance(snap.lexical, RemoteLexical)
        terms = {"optical": 1.0, "modules": 1.0, "7": 1.0}
        assert np.allclose(
            snap.lexical.scores("text", terms), snap.lexical._local.scores("text", terms), rtol=1e-4
        )
        assert eng.search("Unit 7 sold optical modules", k=3)[0].chunk.doc == "n7.md"
        only = eng.search("optical modules", k=5, filters=Filters(docs=("n3.md",)))
        assert only and {h.chunk.doc for h in only} == {"n3.md"}
        rows = snap.store.rows(list(range(snap.size))).values()
        assert any(r["doc"] == "n3.md" and r["text"] == only[0].chunk.text for r in rows)
    finally:
        eng.close()
