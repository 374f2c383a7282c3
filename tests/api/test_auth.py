"""Writes are never anonymous by accident: the generated key, the explicit opt-out, and the check made
before an upload's body is read."""

from __future__ import annotations

import errno
import logging
import stat

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

import api.app as app_module
import api.auth as auth_mod
from api.app import create_app
from index.errors import ConfigError
from rag.engine import Engine
from rag.settings import Settings
from tests.conftest import FakeEmbedder

DOC = b"# Okapi survey\n\nThe 2025 okapi survey counted 1,204 animals in the Ituri forest.\n"


def _upload(c: TestClient, headers: dict[str, str] | None = None, body: bytes = DOC, name: str = "okapi.md"):  # type: ignore[no-untyped-def]
    return c.post("/documents?wait=true", files={"file": (name, body)}, headers=headers or {})


def test_without_a_key_the_service_makes_one_and_writes_need_it(make_engine, caplog) -> None:
    engine = make_engine(anonymous_writes=False)
    key_file = engine.settings.data_dir / "api-key"
    assert not key_file.exists()
    before = engine.stats()
    with caplog.at_level(logging.WARNING, "api"), TestClient(create_app(engine.settings, engine)) as c:
        key = key_file.read_text(encoding="utf-8").strip()
        assert len(key) >= 32
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        # one line says where the key is and how to send it; the key itself is never logged
        lines = [r.getMessage() for r in caplog.records if str(key_file) in r.getMessage()]
        assert len(lines) == 1 and f"Authorization: Bearer $(cat {key_file})" in lines[0]
        assert key not in caplog.text

        for headers in ({}, {"Authorization": "Bearer wrong"}):
            r = _upload(c, headers)
            assert r.status_code == 401 and r.json()["error"]["type"] == "unauthorized"
            assert "api-key" in r.json()["error"]["message"]
            assert str(engine.settings.data_dir) not in r.json()["error"]["message"]  # no server paths
            assert c.delete("/documents/solar.md", headers=headers).status_code == 401
            assert c.delete("/jobs/0123456789abcdef", headers=headers).status_code == 401
        assert engine.stats() == before
        assert c.post("/search", json={"query": "solar"}).status_code == 200  # reads need no key

        assert _upload(c, {"Authorization": f"Bearer {key}"}).status_code == 201
    # a restart keeps the key: scripts that read the file once go on working
    with TestClient(create_app(engine.settings, engine)) as c:
        assert key_file.read_text(encoding="utf-8").strip() == key
        assert c.delete("/documents/okapi.md", headers={"Authorization": f"Bearer {key}"}).status_code == 204


def test_the_generated_key_is_the_key_in_effect(make_engine, monkeypatch) -> None:
    engine = make_engine(anonymous_writes=False)
    real_open = Engine.open
    opened: list[Settings] = []

    def open_with_fake_model(settings: Settings) -> Engine:
        opened.append(settings)
        return real_open(settings, embedder=FakeEmbedder())

    monkeypatch.setattr(app_module.Engine, "open", staticmethod(open_with_fake_model))
    app = create_app(engine.settings)  # as `serve` makes it: the lifespan opens the engine
    key = (engine.settings.data_dir / "api-key").read_text(encoding="utf-8").strip()
    with TestClient(app) as c:
        assert _upload(c, {"Authorization": f"Bearer {key}"}).status_code == 201
        docs = {d["id"]: d for d in c.get("/documents").json()["documents"]}
    assert [s.api_key for s in opened] == [key]
    assert docs["okapi.md"]["origin"]["by"] == "API key"  # not "anonymous": it was keyed


def test_an_empty_key_file_is_replaced(make_engine) -> None:
    engine = make_engine(anonymous_writes=False)
    key_file = engine.settings.data_dir / "api-key"
    key_file.write_text("\n", encoding="utf-8")
    with TestClient(create_app(engine.settings, engine)) as c:
        key = key_file.read_text(encoding="utf-8").strip()
        assert key and stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert _upload(c).status_code == 401
        assert _upload(c, {"Authorization": "Bearer "}).status_code == 401
        assert _upload(c, {"Authorization": f"Bearer {key}"}).status_code == 201


def test_a_data_directory_that_cannot_keep_a_key_disables_writes(make_engine, monkeypatch) -> None:
    engine = make_engine(anonymous_writes=False)

    def read_only(*a: object, **k: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(engine.settings.data_dir / "api-key"))

    monkeypatch.setattr(auth_mod, "write_atomic", read_only)
    with TestClient(create_app(engine.settings, engine)) as c:
        r = _upload(c)
        assert r.status_code == 403 and "writes are disabled" in r.json()["error"]["message"]
        assert c.post("/search", json={"query": "solar"}).status_code == 200
    assert not (engine.settings.data_dir / "api-key").exists()


def test_anonymous_writes_are_an_explicit_loopback_only_choice(make_engine) -> None:
    engine = make_engine(anonymous_writes=True)
    with TestClient(create_app(engine.settings, engine)) as c:
        assert _upload(c).status_code == 201
    assert not (engine.settings.data_dir / "api-key").exists()  # nothing to keep
    with pytest.raises(ConfigError, match="non-loopback"):
        create_app(engine.settings, engine, loopback=False)


class _CountingReceive:
    """Wraps an ASGI app; records every body message the app (or its middleware) receives."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.body_reads = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.body_reads += 1
            return message

        await self.app(scope, counted, send)


def test_an_unauthenticated_upload_is_refused_before_its_body_is_read(make_engine) -> None:
    engine = make_engine(api_key="s3cret-key")
    wrapped = _CountingReceive(create_app(engine.settings, engine))
    big = b"words and more words\n" * 300_000  # ~6 MB, under RAG_MAX_BODY_BYTES
    with TestClient(wrapped) as c:
        r = _upload(c, {}, big, "big.txt")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"]["type"] == "unauthorized"
        assert wrapped.body_reads == 0
        # the counter does see a body that is read: the same upload with the key is received
        r = _upload(c, {"Authorization": "Bearer s3cret-key"}, big, "big.txt")
        assert r.status_code == 413  # over RAG_MAX_UPLOAD_BYTES (5 MiB): read, then refused
        assert wrapped.body_reads > 0
