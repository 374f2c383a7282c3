"""A full or read-only disk under the service: 507 / 503 with a JSON message naming the path, nothing
half-written left in the data directory, and the index as it was, still answering."""

from __future__ import annotations

import errno
import os
import time

import pytest

import index.build as build_mod
from tests.index.test_storage import fail_lexical_write, leftovers

DOC = b"# Okapi survey\n\nThe 2025 okapi survey counted 1,204 animals in the Ituri forest.\n"


def _unchanged(c, engine, before) -> None:  # type: ignore[no-untyped-def]
    assert engine.stats() == before
    assert leftovers(engine.settings.data_dir) == []
    hits = c.post("/search", json={"query": "solar panel prices", "k": 3}).json()["hits"]
    assert hits and hits[0]["doc"] == "solar.md"  # the old index still answers
    assert "okapi.md" not in {d["id"] for d in c.get("/documents").json()["documents"]}


@pytest.mark.parametrize(
    ("err", "status", "kind", "says"),
    [
        (errno.ENOSPC, 507, "insufficient_storage", "no space left to write"),
        (errno.EDQUOT, 507, "insufficient_storage", "no space left to write"),
        (errno.EROFS, 503, "storage_unavailable", "read-only or not writable"),
        (errno.EACCES, 503, "storage_unavailable", "read-only or not writable"),
    ],
)
def test_an_upload_onto_a_full_or_read_only_disk(writable, monkeypatch, err, status, kind, says) -> None:
    c, engine = writable
    before = engine.stats()
    monkeypatch.setattr(build_mod, "save_lexical_parts", fail_lexical_write(err))
    r = c.post("/documents?wait=true", files={"file": ("okapi.md", DOC)})
    assert r.status_code == status
    body = r.json()
    assert set(body) == {"error"} and body["error"]["type"] == kind
    assert says in body["error"]["message"] and "text.npz" in body["error"]["message"]
    _unchanged(c, engine, before)
    monkeypatch.undo()
    assert c.post("/documents?wait=true", files={"file": ("okapi.md", DOC)}).status_code == 201


def test_a_delete_onto_a_full_disk_keeps_the_document(writable, monkeypatch) -> None:
    c, engine = writable
    monkeypatch.setattr(build_mod, "save_lexical_parts", fail_lexical_write(errno.ENOSPC))
    r = c.delete("/documents/digest.txt")
    assert r.status_code == 507 and r.json()["error"]["type"] == "insufficient_storage"
    assert "digest.txt" in {d["id"] for d in c.get("/documents").json()["documents"]}
    assert leftovers(engine.settings.data_dir) == []


def test_a_background_upload_onto_a_full_disk_fails_its_job_with_the_reason(writable, monkeypatch) -> None:
    c, engine = writable
    before = engine.stats()
    monkeypatch.setattr(build_mod, "save_lexical_parts", fail_lexical_write(errno.ENOSPC))
    r = c.post("/documents", files={"file": ("okapi.md", DOC)})
    assert r.status_code == 202
    deadline = time.monotonic() + 30
    while (job := c.get(r.headers["location"]).json())["state"] not in ("done", "failed", "cancelled"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job["state"] == "failed" and job["error"].startswith("no space left to write")
    _unchanged(c, engine, before)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any permission bits")
def test_an_upload_into_a_chmod_read_only_data_directory(writable) -> None:
    c, engine = writable
    before = engine.stats()
    data = engine.settings.data_dir
    modes = {p: p.stat().st_mode for p in [data, *data.rglob("*")] if not p.is_symlink()}
    for p, mode in modes.items():
        p.chmod(mode & ~0o222)
    try:
        r = c.post("/documents?wait=true", files={"file": ("okapi.md", DOC)})
        assert r.status_code == 503 and r.json()["error"]["type"] == "storage_unavailable"
        assert str(engine.settings.index_dir) in r.json()["error"]["message"]
        _unchanged(c, engine, before)
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
