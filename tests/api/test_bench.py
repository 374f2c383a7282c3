"""The HTTP benchmark's concurrent load and its indexing phase, against a live server (fake model)."""

from __future__ import annotations

import json

from api import bench
from api.app import create_app
from tests.api.conftest import live_server

QUESTIONS = ["How much did solar panel prices fall?", "Meta资本支出指引是多少?", "battery storage"]


def test_load_run_reports_percentiles_throughput_and_no_errors(make_engine):
    engine = make_engine()
    with live_server(create_app(engine.settings, engine)) as url:
        out = bench.load_run(url, QUESTIONS, concurrency=8, requests=24)
    assert set(out) == {"/search", "/ask"}
    for s in out.values():
        assert s["n"] == 24 and s["errors"] == 0
        assert 0 < s["p50"] <= s["p95"] <= s["p99"] <= s["max"]
        assert s["throughput"] > 0
    # every request's question was new to the server: its query cache served none
    assert engine.embedder.stats.cache_hits == 0 and engine.embedder.stats.queries == 48


def test_while_indexing_uploads_a_fresh_document_and_leaves_the_index_as_it_was(make_engine, monkeypatch):
    engine = make_engine()
    before = {d.doc for d in engine.documents()}
    monkeypatch.setattr(bench, "synthetic_document", lambda size, seed=0: "Solar fact number one.\n" * 4000)
    with live_server(create_app(engine.settings, engine)) as url:
        out = bench._while_indexing(url, QUESTIONS, k=5, requests=16, size=100_000, api_key="", offset=0)
    assert out["document_bytes"] > 90_000 and out["accepted_ms"] > 0
    assert out["8"]["/search"]["errors"] == 0 and out["8"]["/search"]["n"] == 16
    assert out["job_state"] in ("embedding", "done", "cancelled")
    json.dumps(out)
    assert {d.doc for d in engine.documents()} == before


def test_synthetic_document_is_new_text_of_about_the_size_asked():
    a = bench.synthetic_document(20_000, seed=1)
    b = bench.synthetic_document(20_000, seed=2)
    assert 20_000 <= len(a.encode()) < 22_000 and a != b
