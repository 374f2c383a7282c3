"""Uploads as background jobs: 202 and Location, progress, reads during a job, cancel, failure, restart."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.jobs import JobRunner
from tests.conftest import FakeEmbedder

DOC = "# Zebra census\n\n" + "".join(
    f"Block {i} of the 2025 zebra census in the Serengeti counted {1000 + i} animals.\n\n" for i in range(40)
)


class SlowDocuments(FakeEmbedder):
    """Documents take ``delay`` s per text; ``hold`` (when set) stops parsing until released."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        super().__init__()
        self.delay = delay
        self.fail = fail
        self.hold: threading.Event | None = None
        self.parsing = threading.Event()

    def count_tokens(self, text: str) -> int:
        if self.hold is not None:
            self.parsing.set()
            assert self.hold.wait(30)
        return super().count_tokens(text)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail:
            raise RuntimeError("the model crashed")
        time.sleep(self.delay * len(texts))
        return super().encode_documents(texts)


def _wait(c: TestClient, job_id: str, until: tuple[str, ...], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = c.get(f"/jobs/{job_id}").json()
        if job["state"] in until:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} never reached {until}: {job}")


def _docs(c: TestClient) -> set[str]:
    return {d["id"] for d in c.get("/documents").json()["documents"]}


def test_an_upload_returns_202_and_its_job_ends_with_the_document(make_engine):
    engine = make_engine(embedder=SlowDocuments(delay=0.01))
    with TestClient(create_app(engine.settings, engine)) as c:
        r = c.post("/documents", files={"file": ("zebra.md", DOC.encode())})
        assert r.status_code == 202, r.text
        job = r.json()
        assert r.headers["location"] == f"/jobs/{job['id']}"
        assert job["state"] in ("queued", "parsing", "embedding") and job["doc"] == "zebra.md"
        seen = _wait(c, job["id"], ("embedding", "done"))
        done = _wait(c, job["id"], ("done",))
        assert done["done"] == done["total"] > 0 and done["error"] is None
        assert done["document"]["id"] == "zebra.md" and done["document"]["chunks"] >= 1
        assert seen["total"] == done["total"]
        assert "zebra.md" in _docs(c)
        hits = c.post("/search", json={"query": "zebra census Serengeti", "k": 3}).json()["hits"]
        assert hits[0]["doc"] == "zebra.md"
        assert [j["id"] for j in c.get("/jobs").json()["jobs"]] == [job["id"]]
        # a finished job cannot be cancelled
        r = c.delete(f"/jobs/{job['id']}")
        assert r.status_code == 409 and "finished" in r.json()["error"]["message"]


def test_reads_answer_while_a_job_runs_and_see_the_old_index(make_engine):
    embedder = SlowDocuments()
    engine = make_engine(embedder=embedder)
    embedder.hold = threading.Event()
    with TestClient(create_app(engine.settings, engine)) as c:
        before = _docs(c)
        job = c.post("/documents", files={"file": ("zebra.md", DOC.encode())}).json()
        assert embedder.parsing.wait(10)
        assert c.get(f"/jobs/{job['id']}").json()["state"] == "parsing"
        assert c.post("/search", json={"query": "solar panel prices", "k": 3}).status_code == 200
        assert c.post("/ask", json={"question": "How much did solar panel prices fall?"}).status_code == 200
        assert _docs(c) == before
        embedder.hold.set()
        _wait(c, job["id"], ("done",))
        assert _docs(c) == before | {"zebra.md"}


def test_a_cancelled_job_leaves_the_index_as_it_was(make_engine):
    engine = make_engine(embedder=SlowDocuments(delay=0.3))
    with TestClient(create_app(engine.settings, engine)) as c:
        before = _docs(c)
        job = c.post("/documents", files={"file": ("zebra.md", DOC.encode())}).json()
        queued = c.post(
            "/documents", files={"file": ("other.md", b"# Other\n\nAnother text about okapis.\n")}
        )
        _wait(c, job["id"], ("embedding",))
        r = c.delete(f"/jobs/{job['id']}")
        assert r.status_code == 200
        assert _wait(c, job["id"], ("cancelled", "failed", "done"))["state"] == "cancelled"
        # the next job in the queue still runs
        assert _wait(c, queued.json()["id"], ("done",))["document"]["id"] == "other.md"
        assert _docs(c) == before | {"other.md"}
        assert c.delete("/jobs/no-such-job").status_code == 404


def test_a_failing_job_reports_the_error_and_changes_nothing(make_engine):
    embedder = SlowDocuments()
    engine = make_engine(embedder=embedder)
    embedder.fail = True
    with TestClient(create_app(engine.settings, engine)) as c:
        before = _docs(c)
        job = c.post("/documents", files={"file": ("zebra.md", DOC.encode())}).json()
        failed = _wait(c, job["id"], ("failed", "done"))
        assert failed["state"] == "failed" and "the model crashed" in failed["error"]
        assert _docs(c) == before
        embedder.fail = False
        assert c.post("/search", json={"query": "solar", "k": 1}).status_code == 200


def test_bad_uploads_are_refused_before_any_job(make_engine):
    engine = make_engine()
    with TestClient(create_app(engine.settings, engine)) as c:
        assert c.post("/documents", files={"file": ("x.txt", b"\xff\xfe bad")}).status_code == 400
        assert c.post("/documents", files={"file": ("x.txt", b"   \n")}).status_code == 400
        assert c.post("/documents", files={"file": ("x.exe", b"text")}).status_code == 400
        assert c.get("/jobs").json()["jobs"] == []


def test_after_a_restart_an_unfinished_job_is_reported_failed(make_engine, tmp_path):
    engine = make_engine()
    jobs_dir = tmp_path / "jobs"
    jobs_dir.mkdir()
    record = {
        "id": "abc123",
        "doc": "big.txt",
        "state": "embedding",
        "bytes": 5,
        "created": time.time() - 60,
        "started": time.time() - 59,
        "done": 40,
        "total": 900,
    }
    (jobs_dir / "abc123.json").write_text(json.dumps(record), encoding="utf-8")
    (jobs_dir / "old.json").write_text(json.dumps({**record, "id": "old", "state": "done"}), encoding="utf-8")
    runner = JobRunner(engine, jobs_dir)
    job = runner.get("abc123")
    assert job.state == "failed" and "stopped before this job finished" in (job.error or "")
    assert runner.get("old").state == "done"
    assert json.loads((jobs_dir / "abc123.json").read_text(encoding="utf-8"))["state"] == "failed"
    assert "big.txt" not in {d.doc for d in engine.documents()}
    with pytest.raises(Exception, match="no job"):
        runner.get("missing")
