"""Documents: list, read spans, upload then search, delete then search, bad uploads, the API key."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import CORPUS

NEW_DOC = (
    "# Zebra census\n\nThe 2025 zebra census in the Serengeti counted 77,312 animals, up 4% from 2024.\n\n"
    "## Method\n\nRangers used drones and camera traps across 14 survey blocks.\n"
)


def _search_docs(c: TestClient, query: str) -> list[str]:
    r = c.post("/search", json={"query": query, "k": 10})
    assert r.status_code == 200
    return [h["doc"] for h in r.json()["hits"]]


def test_list_documents(client):
    r = client.get("/documents")
    assert r.status_code == 200
    docs = {d["id"]: d for d in r.json()["documents"]}
    assert set(docs) == set(CORPUS)
    assert docs["digest.txt"]["chars"] == len(CORPUS["digest.txt"])
    assert docs["digest.txt"]["titles"] == ["北美CSP资本开支指引乐观", "OpenAI CFO:让广告像功能"]
    assert docs["solar.md"]["chunks"] >= 1 and len(docs["solar.md"]["sha256"]) == 64


def test_get_document_text_and_span(client):
    whole = client.get("/documents/digest.txt").json()
    assert whole["text"] == CORPUS["digest.txt"]
    assert (whole["start"], whole["end"], whole["chars"]) == (
        0,
        len(CORPUS["digest.txt"]),
        len(CORPUS["digest.txt"]),
    )
    cite = client.post("/ask", json={"question": "What is Meta's 2026 capex guidance?"}).json()["citations"][
        0
    ]
    span = client.get(
        f"/documents/{cite['doc']}", params={"start": cite["quote_start"], "end": cite["quote_end"]}
    )
    assert span.status_code == 200
    assert span.json()["text"] == cite["quote"]
    tail = client.get("/documents/solar.md", params={"start": 10}).json()
    assert tail["text"] == CORPUS["solar.md"][10:] and tail["end"] == len(CORPUS["solar.md"])


@pytest.mark.parametrize(
    ("params", "status"),
    [({"start": 5, "end": 2}, 400), ({"end": 10**6}, 400), ({"start": -1}, 422), ({"start": "x"}, 422)],
)
def test_bad_spans(client, params, status):
    r = client.get("/documents/solar.md", params=params)
    assert r.status_code == status and r.json()["error"]["message"]


@pytest.mark.parametrize("doc_id", ["nope.txt", "../digest.txt", "sub/dir/x.md", "%2e%2e/etc/passwd"])
def test_unknown_document_is_404(client, doc_id):
    r = client.get(f"/documents/{doc_id}")
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "not_found"


def test_upload_then_search_then_delete_then_search(writable):
    c, engine = writable
    assert "zebra.md" not in _search_docs(c, "zebra census Serengeti")
    r = c.post("/documents?wait=true", files={"file": ("zebra.md", NEW_DOC.encode(), "text/markdown")})
    assert r.status_code == 201
    info = r.json()
    assert info["id"] == "zebra.md" and info["chars"] == len(NEW_DOC) and info["titles"] == ["Zebra census"]
    # searchable as soon as the call has returned
    assert _search_docs(c, "zebra census Serengeti")[0] == "zebra.md"
    assert "zebra.md" in {d["id"] for d in c.get("/documents").json()["documents"]}
    assert c.get("/documents/zebra.md").json()["text"] == NEW_DOC
    answer = c.post("/ask", json={"question": "How many zebras did the 2025 census count?"}).json()
    assert "77,312" in answer["answer"]

    r = c.delete("/documents/zebra.md")
    assert r.status_code == 204 and r.content == b""
    assert "zebra.md" not in _search_docs(c, "zebra census Serengeti")
    assert c.get("/documents/zebra.md").status_code == 404
    assert c.delete("/documents/zebra.md").status_code == 404


def test_upload_replaces_a_document_with_the_same_name(writable):
    c, _ = writable
    assert c.post("/documents?wait=true", files={"file": ("zebra.md", NEW_DOC.encode())}).status_code == 201
    changed = NEW_DOC.replace("77,312", "81,004")
    assert c.post("/documents?wait=true", files={"file": ("zebra.md", changed.encode())}).status_code == 201
    assert c.get("/documents/zebra.md").json()["text"] == changed
    assert [d["id"] for d in c.get("/documents").json()["documents"]].count("zebra.md") == 1


@pytest.mark.parametrize(
    ("name", "data", "status", "needle"),
    [
        ("../evil.txt", b"hello there", 400, "invalid document name"),
        ("..\\evil.txt", b"hello there", 400, "invalid document name"),
        ("/etc/evil.txt", b"hello there", 400, "invalid document name"),
        ("sub/../../evil.md", b"hello there", 400, "invalid document name"),
        (".hidden.txt", b"hello there", 400, "invalid document name"),
        ("report.pdf", b"%PDF-1.4", 400, "not a readable PDF"),
        ("sheet.xlsx", b"PK\x03\x04", 400, "unsupported"),
        ("noext", b"hello there", 400, "unsupported"),
        ("latin1.txt", "café crème".encode("latin-1"), 400, "UTF-8"),
        ("binary.txt", b"abc\x00def", 400, "binary"),
        ("empty.txt", b"", 400, "empty"),
        ("blank.md", b"  \n\n  ", 400, "empty"),
    ],
)
def test_bad_uploads_are_refused_and_leave_the_index_alone(writable, name, data, status, needle):
    c, engine = writable
    before = engine.stats()
    r = c.post("/documents?wait=true", files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == status
    err = r.json()["error"]
    assert needle in err["message"]
    assert engine.stats() == before
    assert {d["id"] for d in c.get("/documents").json()["documents"]} == set(CORPUS)


def test_upload_without_a_file_or_not_multipart(writable):
    c, engine = writable
    before = engine.stats()
    assert c.post("/documents", data={"name": "x.txt"}).status_code == 422
    r = c.post("/documents", content=b"just text", headers={"Content-Type": "text/plain"})
    assert r.status_code == 422 and r.json()["error"]["type"] == "invalid_request"
    assert engine.stats() == before


def test_upload_size_limit(make_engine):
    engine = make_engine(max_upload_bytes=1000)
    with TestClient(create_app(engine.settings, engine)) as c:
        before = engine.stats()
        r = c.post("/documents?wait=true", files={"file": ("big.txt", b"word " * 300)})
        assert r.status_code == 413
        assert r.json()["error"] == {
            "type": "payload_too_large",
            "message": "the upload is larger than 1000 bytes (RAG_MAX_UPLOAD_BYTES)",
        }
        assert engine.stats() == before
        assert (
            c.post("/documents?wait=true", files={"file": ("ok.txt", b"small words " * 10)}).status_code
            == 201
        )


# ------------------------------------------------------------------------------------------------ auth


@pytest.fixture
def keyed(make_engine):
    engine = make_engine(api_key="s3cret-key")
    with TestClient(create_app(engine.settings, engine)) as c:
        yield c, engine


@pytest.mark.parametrize("header", [None, "Bearer wrong", "s3cret-key", "Basic s3cret-key", "Bearer "])
def test_writes_need_the_api_key(keyed, header):
    c, engine = keyed
    before = engine.stats()
    headers = {"Authorization": header} if header is not None else {}
    r = c.post("/documents?wait=true", files={"file": ("zebra.md", NEW_DOC.encode())}, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"
    assert c.delete("/documents/solar.md", headers=headers).status_code == 401
    assert engine.stats() == before


def test_the_right_key_allows_writes_and_reads_need_none(keyed):
    c, _ = keyed
    auth = {"Authorization": "Bearer s3cret-key"}
    assert (
        c.post(
            "/documents?wait=true", files={"file": ("zebra.md", NEW_DOC.encode())}, headers=auth
        ).status_code
        == 201
    )
    assert c.delete("/documents/solar.md", headers=auth).status_code == 204
    assert c.get("/documents").status_code == 200
    assert c.post("/search", json={"query": "zebra"}).status_code == 200
    assert c.post("/ask", json={"question": "zebra census"}).status_code == 200


def test_key_is_checked_before_the_upload_is_looked_at(keyed):
    c, _ = keyed
    r = c.post("/documents?wait=true", files={"file": ("../evil.txt", b"x")})
    assert r.status_code == 401
