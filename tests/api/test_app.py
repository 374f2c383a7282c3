"""The app as a whole: health and metrics, error shape, body limit, CORS, lifespan and ``serve``."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

import api.app as app_module
from api.app import create_app, is_loopback, serve
from rag.engine import Engine
from tests.conftest import FakeEmbedder


def test_healthz_and_readyz(client, shared_engine):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready"
    assert body["index"]["documents"] == 2 and body["index"]["chunks"] == shared_engine.stats()["chunks"]
    assert body["index"]["model_id"] == FakeEmbedder.model_id


def test_readyz_is_503_without_an_engine(shared_engine):
    app = create_app(shared_engine.settings, shared_engine)
    app.state.engine = None  # what a process sees before its engine is loaded
    c = TestClient(app)
    assert c.get("/healthz").status_code == 200
    r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["error"]["type"] == "not_ready"
    assert c.post("/search", json={"query": "x"}).status_code == 503


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_per_route_template(shared_engine):
    # a fresh app: its own registry starts at zero, whatever other apps in this process did
    with TestClient(create_app(shared_engine.settings, shared_engine)) as c:
        for _ in range(3):
            c.post("/search", json={"query": "solar"})
        c.post("/search", json={"query": ""})
        c.get("/documents/solar.md")
        c.get("/documents/digest.txt")
        c.get("/no/such/route")
        text = c.get("/metrics").text
    assert _metric(text, "rag_http_requests_total", route="/search", method="POST", status="200") == 3
    assert _metric(text, "rag_http_requests_total", route="/search", method="POST", status="422") == 1
    assert _metric(text, "rag_http_requests_total", route="/documents/{doc_id:path}", status="200") == 2
    assert _metric(text, "rag_http_requests_total", route="<unmatched>", status="404") == 1
    assert _metric(text, "rag_http_request_duration_seconds_count", route="/search", method="POST") == 4
    assert _metric(text, "rag_http_request_duration_seconds_bucket", route="/search", le="+Inf") == 4
    assert _metric(text, "rag_index_documents") == 2
    assert _metric(text, "rag_index_chunks") == shared_engine.stats()["chunks"]
    assert "solar.md" not in text  # concrete ids never become labels


def test_two_apps_have_separate_registries(shared_engine):
    a = TestClient(create_app(shared_engine.settings, shared_engine))
    b = TestClient(create_app(shared_engine.settings, shared_engine))
    a.get("/healthz")
    a.get("/healthz")
    assert _metric(a.get("/metrics").text, "rag_http_requests_total", route="/healthz") == 2
    assert _metric(b.get("/metrics").text, "rag_http_requests_total", route="/healthz") == 0


@pytest.mark.parametrize(
    ("method", "path", "status", "kind"),
    [("GET", "/no/such/thing", 404, "not_found"), ("DELETE", "/search", 405, "method_not_allowed")],
)
def test_http_errors_have_the_json_error_shape(client, method, path, status, kind):
    r = client.request(method, path)
    assert r.status_code == status
    assert r.json() == {"error": {"type": kind, "message": r.json()["error"]["message"]}}


def test_openapi_schema_is_served(client):
    paths = client.get("/openapi.json").json()["paths"]
    for p in ["/search", "/ask", "/v1/chat/completions", "/v1/models", "/documents", "/documents/{doc_id}"]:
        assert p in paths, p
    assert "413" in paths["/ask"]["post"]["responses"]


def test_widget_routes_are_included(client):
    assert client.get("/").status_code == 200
    assert client.get("/widget.js").status_code == 200


# ------------------------------------------------------------------------------------------- body limit


@pytest.fixture
def small_body(make_engine):
    engine = make_engine(max_body_bytes=2000)
    with TestClient(create_app(engine.settings, engine)) as c:
        yield c, engine


def test_declared_oversized_body_is_refused(small_body):
    c, _ = small_body
    r = c.post("/ask", json={"question": "x" * 5000})
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "payload_too_large"
    assert "2000" in r.json()["error"]["message"]


def test_chunked_oversized_body_is_refused(small_body):
    c, engine = small_body
    before = engine.stats()

    def body():
        yield b'{"question": "'
        for _ in range(50):
            yield b"x" * 100
        yield b'"}'

    r = c.post("/ask", content=body(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["type"] == "payload_too_large"

    def upload():
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
        for _ in range(50):
            yield b"word " * 20
        yield b"\r\n--b--\r\n"

    r = c.post("/documents", content=upload(), headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413
    assert engine.stats() == before


def test_small_bodies_pass(small_body):
    c, _ = small_body
    assert c.post("/ask", json={"question": "solar panel prices"}).status_code == 200


# ------------------------------------------------------------------------------------------------- CORS


def test_cors_allows_configured_origins_only(make_engine):
    engine = make_engine(cors_origins=["https://blog.example"])
    with TestClient(create_app(engine.settings, engine)) as c:
        pre = c.options(
            "/ask",
            headers={
                "Origin": "https://blog.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "https://blog.example"
        r = c.post("/ask", json={"question": "solar"}, headers={"Origin": "https://blog.example"})
        assert r.headers["access-control-allow-origin"] == "https://blog.example"
        other = c.post("/ask", json={"question": "solar"}, headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_no_cors_headers_without_configured_origins(client):
    r = client.post("/ask", json={"question": "solar"}, headers={"Origin": "https://blog.example"})
    assert "access-control-allow-origin" not in r.headers


# ------------------------------------------------------------------------------------ lifespan and serve


def test_lifespan_opens_the_engine_once(make_engine, monkeypatch):
    engine = make_engine()
    calls = []

    def fake_open(settings):
        calls.append(settings)
        return engine

    monkeypatch.setattr(app_module.Engine, "open", staticmethod(fake_open))
    app = create_app(engine.settings)
    assert app.state.engine is None
    with TestClient(app) as c:
        assert c.get("/readyz").status_code == 200
        c.post("/search", json={"query": "solar"})
        c.post("/search", json={"query": "zebra"})
    assert calls == [engine.settings]


def test_a_failing_engine_load_fails_startup(make_engine, monkeypatch):
    from index.errors import IndexMismatchError

    engine = make_engine()

    def boom(settings):
        raise IndexMismatchError("index built with another model")

    monkeypatch.setattr(app_module.Engine, "open", staticmethod(boom))
    with pytest.raises(IndexMismatchError), TestClient(create_app(engine.settings)):
        pass


@pytest.mark.parametrize(
    ("host", "loop"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("192.168.1.4", False), ("::", False), ("example.com", False)],
)  # fmt: skip
def test_is_loopback(host, loop):
    assert is_loopback(host) is loop


@pytest.mark.parametrize(
    ("host", "key", "anonymous", "status"),
    [
        ("127.0.0.1", "", True, 201),  # the operator opted out of the key, on loopback
        ("127.0.0.1", "", False, 401),  # the default: the key the service made is needed
        ("0.0.0.0", "", False, 401),
        ("0.0.0.0", "k", False, 401),
        ("127.0.0.1", "k", True, 401),  # a configured key is always required
    ],
)
def test_serve_needs_a_key_for_writes_unless_opted_out_on_loopback(
    make_engine, monkeypatch, host, key, anonymous, status
):
    engine = make_engine(api_key=key, anonymous_writes=anonymous)
    seen = {}

    def fake_run(app, **kw):
        seen["app"], seen["kw"] = app, kw

    monkeypatch.setattr("uvicorn.run", fake_run)
    serve(engine.settings, host=host, port=8123)
    app = seen["app"]
    assert seen["kw"]["host"] == host and seen["kw"]["port"] == 8123
    app.state.engine = engine
    c = TestClient(app)
    r = c.post("/documents?wait=true", files={"file": ("z.txt", b"zebra words here")})
    assert r.status_code == status
    if status == 401:
        in_effect = key or (engine.settings.data_dir / "api-key").read_text().strip()
        auth = {"Authorization": f"Bearer {in_effect}"}
        r = c.post("/documents?wait=true", files={"file": ("z.txt", b"zebra words here")}, headers=auth)
        assert r.status_code == 201


def test_anonymous_writes_are_refused_off_loopback(make_engine, monkeypatch):
    from index.errors import ConfigError

    engine = make_engine(anonymous_writes=True)
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: pytest.fail("served anyway"))
    with pytest.raises(ConfigError, match="RAG_ANONYMOUS_WRITES=true is refused on a non-loopback"):
        serve(engine.settings, host="0.0.0.0", port=8123)
    assert not (engine.settings.data_dir / "api-key").exists()


def test_engine_is_shared_not_global(make_engine):
    e1, e2 = make_engine(), make_engine()
    e2.add_document("only-in-two.md", "# Unique\n\nThe quokka population grew.\n")
    c1 = TestClient(create_app(e1.settings, e1))
    c2 = TestClient(create_app(e2.settings, e2))
    ids1 = {d["id"] for d in c1.get("/documents").json()["documents"]}
    ids2 = {d["id"] for d in c2.get("/documents").json()["documents"]}
    assert "only-in-two.md" in ids2 and "only-in-two.md" not in ids1
    assert isinstance(c1.app.state.engine, Engine)
    assert re.match(r"^\d+$", str(c1.app.state.started))


# ------------------------------------------------------------------------------------------------ bench


def test_bench_measures_both_routes_over_http(shared_engine, tmp_path, capsys):
    from api.bench import main, summarize
    from tests.api.conftest import live_server

    gold = tmp_path / "questions.jsonl"
    gold.write_text(
        '{"question": "What is Meta\'s 2026 capex guidance?", "answer": "ignored"}\n\n'
        '{"question": "太阳能电池板价格"}\n{"question": "solar battery storage"}\n',
        encoding="utf-8",
    )
    with live_server(create_app(shared_engine.settings, shared_engine)) as base:
        assert main(["--url", base, "--gold", str(gold), "--warmup", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["questions"] == 3
    for route in ("/search", "/ask"):
        s = result["routes"][route]
        assert s["n"] == 3 and s["errors"] == 0
        assert 0 < s["p50"] <= s["p95"] <= s["max"]
        assert 0 < s["server"]["p50"] <= s["p50"]  # the engine time is part of the HTTP time
    assert summarize([10.0, 20.0, 30.0, 40.0])["p50"] == 25.0
