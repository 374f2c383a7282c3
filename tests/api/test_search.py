"""POST /search: ranked passages with scores, offsets and metadata; filters; bad input."""

from __future__ import annotations

import pytest

from tests.api.conftest import CORPUS


def test_search_returns_ranked_hits_with_offsets_and_metadata(client):
    r = client.post("/search", json={"query": "Meta 2026 资本支出", "k": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["query"] == "Meta 2026 资本支出"
    hits = body["hits"]
    assert 1 <= len(hits) <= 3
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    top = hits[0]
    assert top["doc"] == "digest.txt"
    assert top["title"] == "北美CSP资本开支指引乐观"
    assert top["source"] == "智通财经网" and top["date"].startswith("2026-02-03")
    for h in hits:
        assert CORPUS[h["doc"]][h["start"] : h["end"]] == h["text"]
        assert h["chunk_id"] == f"{h['doc']}#{h['start']}-{h['end']}"
    assert body["timings_ms"]["total"] >= 0


def test_k_limits_the_number_of_hits(client):
    r = client.post("/search", json={"query": "capacity prices capex", "k": 1})
    assert r.status_code == 200 and len(r.json()["hits"]) == 1


@pytest.mark.parametrize(
    ("filters", "expect_docs"),
    [
        ({"docs": ["solar.md"]}, {"solar.md"}),
        ({"sources": ["36氪"]}, {"digest.txt"}),
        ({"date_from": "2026-02-01"}, {"digest.txt"}),
        ({"date_to": "2026-01-31"}, {"digest.txt"}),
        ({"sources": ["no such source"]}, set()),
    ],
)
def test_filters_restrict_hits(client, filters, expect_docs):
    r = client.post("/search", json={"query": "资本支出 revenue prices", "k": 10, "filters": filters})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert {h["doc"] for h in hits} == expect_docs
    if "sources" in filters:
        assert all(h["source"] in filters["sources"] for h in hits)
    if "date_from" in filters:
        assert all(h["date"][:10] >= filters["date_from"] for h in hits)
    if "date_to" in filters:
        assert all(h["date"][:10] <= filters["date_to"] for h in hits)


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_modes(client, mode):
    r = client.post("/search", json={"query": "solar panel prices", "k": 2, "mode": mode})
    assert r.status_code == 200 and r.json()["hits"]


@pytest.mark.parametrize(
    "body",
    [
        {"query": ""},
        {"query": "x", "k": 0},
        {"query": "x", "k": 1000},
        {"query": "x", "mode": "magic"},
        {"query": "x", "filters": {"date_from": "yesterday"}},
        {"query": "x", "filters": {"date_from": "2026-02-02", "date_to": "2026-02-01"}},
        {"query": "x", "filters": {"unknown": 1}},
        {"k": 3},
        {"query": 5},
    ],
)
def test_bad_requests_get_422_json_errors(client, body):
    r = client.post("/search", json=body)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["type"] == "invalid_request" and err["message"]


def test_blank_and_oversized_queries_get_400(client, shared_engine):
    r = client.post("/search", json={"query": "   "})
    assert r.status_code == 400 and "empty" in r.json()["error"]["message"]
    limit = shared_engine.settings.max_question_chars
    r = client.post("/search", json={"query": "x" * (limit + 1)})
    assert r.status_code == 400 and str(limit) in r.json()["error"]["message"]


def test_malformed_json_gets_400(client):
    r = client.post("/search", content=b'{"query": "x",', headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"error": {"type": "invalid_request", "message": "the request body is not valid JSON"}}
