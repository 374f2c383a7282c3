"""Input that used to break the service: lone surrogates in JSON, unreadable document names."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/search", '{"query": "capex \\ud800 guidance"}'),
        ("/ask", '{"question": "\\udfff"}'),
        ("/ask", '{"question": "And Microsoft?", "history": ["Meta \\ud800?"]}'),
        ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "Meta \\ud800?"}]}'),
        (
            "/v1/chat/completions",
            '{"messages": [{"role": "user", "content": "x\\ud800"}, {"role": "assistant", "content": "y"},'
            ' {"role": "user", "content": "And Microsoft?"}]}',
        ),
    ],
)
def test_a_lone_surrogate_is_a_4xx_and_the_connection_lives(client, route, body) -> None:  # type: ignore[no-untyped-def]
    r = client.post(route, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422), r.text  # the schema's own check, or ours where it lets it by
    assert "nicode" in r.json()["error"]["message"]
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("name", ["evil\u202etxt.md", "zero\u200bwidth.md"])
def test_a_document_name_with_control_or_bidi_characters_is_refused(make_engine, name) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from api.app import create_app

    engine = make_engine()
    with TestClient(create_app(engine.settings, engine)) as c:
        before = {d["id"] for d in c.get("/documents").json()["documents"]}
        for url in ("/documents", "/documents?wait=true"):
            r = c.post(url, files={"file": (name, b"# T\n\nSome text.\n")})
            assert r.status_code == 400 and "U+" in r.json()["error"]["message"], r.text
        assert {d["id"] for d in c.get("/documents").json()["documents"]} == before


@pytest.mark.parametrize("name", ["bad\nname.txt", "tab\there.md", "rtl\u202etxt.md", "ls\u2028x.md"])
def test_document_ids_are_printable_without_bidi_controls(name) -> None:  # type: ignore[no-untyped-def]
    from index.build import check_doc_id
    from index.errors import InputError

    with pytest.raises(InputError, match="U\\+"):
        check_doc_id(name)
    assert check_doc_id("报告/2026 年报.md") == "报告/2026 年报.md"  # Chinese and spaces are fine


def test_citation_urls_never_come_from_the_host_header(make_engine) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from api.app import create_app

    body = {"messages": [{"role": "user", "content": "How much did solar panel prices fall?"}]}
    engine = make_engine()
    with TestClient(create_app(engine.settings, engine)) as c:
        r = c.post("/v1/chat/completions", json=body, headers={"Host": "evil.example"})
        urls = r.json()["citations"]
        assert urls and all(u.startswith("/documents/") for u in urls)
    engine = make_engine(public_url="https://rag.example.org/")
    with TestClient(create_app(engine.settings, engine)) as c:
        urls = c.post("/v1/chat/completions", json=body, headers={"Host": "evil.example"}).json()["citations"]
        assert urls and all(u.startswith("https://rag.example.org/documents/") for u in urls)
