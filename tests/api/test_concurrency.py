"""Reads keep being served while an upload is being indexed (over real HTTP, several client threads)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from api.app import create_app
from tests.api.conftest import live_server
from tests.conftest import FakeEmbedder


class GatedEmbedder(FakeEmbedder):
    """Holds an upload while it is being chunked (token counting) until the test opens the gate.

    Not inside a model call: those take turns with the queries (``rag.batch.PriorityGate``), and a
    real one ends within a piece of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.entered = threading.Event()
        self.gate = threading.Event()

    def count_tokens(self, text: str) -> int:
        if self.armed:
            self.entered.set()
            assert self.gate.wait(30), "the test never released the upload"
        return super().count_tokens(text)


def test_reads_are_served_during_an_upload(make_engine):
    embedder = GatedEmbedder()
    engine = make_engine(embedder=embedder)
    embedder.armed = True
    doc = "# Quokka survey\n\nThe quokka survey on Rottnest Island counted 12,400 quokkas in 2025.\n"
    with (
        live_server(create_app(engine.settings, engine)) as base,
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        upload: dict[str, httpx.Response] = {}

        def do_upload() -> None:
            upload["r"] = http.post("/documents?wait=true", files={"file": ("quokka.md", doc.encode())})

        writer = threading.Thread(target=do_upload)
        writer.start()
        assert embedder.entered.wait(10), "the upload never reached the embedder"

        def read(i: int) -> tuple[int, float, list[str]]:
            t0 = time.perf_counter()
            if i % 3 == 0:
                r = http.post("/search", json={"query": "quokka survey solar", "k": 5})
                docs = [h["doc"] for h in r.json()["hits"]]
            elif i % 3 == 1:
                r = http.post("/ask", json={"question": "What is Meta's 2026 capex guidance?"})
                docs = [c["doc"] for c in r.json()["citations"]]
            else:
                r = http.get("/documents")
                docs = [d["id"] for d in r.json()["documents"]]
            return r.status_code, time.perf_counter() - t0, docs

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(read, range(24)))
        # every read finished while the upload was still held inside the embedder
        assert writer.is_alive() and "r" not in upload
        assert all(status == 200 for status, _, _ in results)
        assert all("quokka.md" not in docs for _, _, docs in results)  # reads see a consistent old index
        assert max(t for _, t, _ in results) < 10

        embedder.gate.set()
        writer.join(30)
        assert upload["r"].status_code == 201
        hits = http.post("/search", json={"query": "quokka survey Rottnest", "k": 3}).json()["hits"]
        assert hits[0]["doc"] == "quokka.md"
