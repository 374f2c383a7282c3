"""Uploads as background jobs: ``POST /documents`` answers 202 at once and the indexing runs here.

A 5 MiB upload is ten thousand chunks, most of an hour of embedding on two cores: far too long to hold
an HTTP request open. Jobs run one at a time in one worker thread (writes are serialised by the
engine anyway); reads are never blocked, because the engine swaps in the new index only when a job
ends. Each job's record is a small JSON file in ``DATA_DIR/jobs``, rewritten as it moves on, so its
state can be read after the fact. A job the service did not finish (it stopped or crashed) is reported
failed after a restart, and its document is absent: the index is only ever replaced whole.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from index.errors import ConflictError, NotFoundError, RagError, StorageError
from index.storage import write_atomic
from rag.engine import Engine

ACTIVE = ("queued", "parsing", "embedding")
FINISHED = ("done", "failed", "cancelled")


class JobCancelled(RagError):
    """Raised inside the indexing of a job that was cancelled."""


@dataclass(frozen=True)
class Job:
    id: str
    doc: str
    state: str  # queued | parsing | embedding | done | failed | cancelled
    bytes: int
    created: float
    started: float | None = None
    finished: float | None = None
    done: int = 0  # chunks embedded (or found in the cache) so far
    total: int = 0  # chunks to embed; 0 until parsing has counted them
    error: str | None = None
    document: dict[str, Any] | None = field(default=None)  # the indexed document, once done

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = round((self.finished or time.time()) - (self.started or self.created), 2)
        return out


class JobRunner:
    """Queues uploads and indexes them one at a time in a background thread."""

    def __init__(self, engine: Engine, directory: Path, keep: int = 200) -> None:
        self.engine = engine
        self.dir = directory
        self.keep = keep
        self._jobs: dict[str, Job] = {}
        self._texts: dict[str, str] = {}
        self._cancel: set[str] = set()
        self._lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._recover()

    # ------------------------------------------------------------------ API

    def submit(self, doc: str, text: str) -> Job:
        job = Job(
            id=uuid.uuid4().hex[:16], doc=doc, state="queued", bytes=len(text.encode()), created=time.time()
        )
        with self._lock:
            self._jobs[job.id] = job
            self._texts[job.id] = text
            self._save(job)
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="upload-jobs", daemon=True)
                self._worker.start()
        self._queue.put(job.id)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id!r}")
        return job

    def list(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: -j.created)

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job (the index stays as it was); a finished one is an error."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise NotFoundError(f"no job {job_id!r}")
            if job.state in FINISHED:
                raise ConflictError(f"job {job_id} has already finished ({job.state})")
            self._cancel.add(job_id)
            if job.state == "queued":
                job = self._update(job, state="cancelled", finished=time.time())
                self._texts.pop(job_id, None)
        return job

    def close(self) -> None:
        if self._worker is not None:
            with self._lock:
                self._cancel.update(j.id for j in self._jobs.values() if j.state in ACTIVE)
            self._queue.put(None)
            self._worker.join(timeout=60)

    # ------------------------------------------------------------------ worker

    def _run(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            with self._lock:
                job = self._jobs[job_id]
                text = self._texts.pop(job_id, None)
                if job.state != "queued" or text is None:
                    continue  # cancelled while queued
                job = self._update(job, state="parsing", started=time.time())
            try:
                info = self.engine.add_document(job.doc, text, progress=self._progress(job_id))
            except JobCancelled:
                self._finish(job_id, state="cancelled")
            except Exception as e:  # noqa: BLE001 - the job reports it; the service goes on
                msg = str(e) if isinstance(e, RagError) else f"{type(e).__name__}: {e}"
                self._finish(job_id, state="failed", error=msg)
            else:
                self._finish(job_id, state="done", document=info.to_dict())

    def _progress(self, job_id: str):  # type: ignore[no-untyped-def]
        last = [0.0]

        def cb(done: int, total: int) -> None:
            if job_id in self._cancel:
                raise JobCancelled(f"job {job_id} was cancelled")
            now = time.monotonic()
            with self._lock:
                job = self._jobs[job_id]
                job = replace(job, state="embedding", done=done, total=total)
                self._jobs[job_id] = job
                if now - last[0] >= 1.0 or done >= total:  # the file at most once a second
                    last[0] = now
                    self._save(job)

        return cb

    def _finish(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            self._cancel.discard(job_id)
            self._update(self._jobs[job_id], finished=time.time(), **changes)
            self._prune()

    # ------------------------------------------------------------------ records

    def _update(self, job: Job, **changes: Any) -> Job:
        job = replace(job, **changes)
        self._jobs[job.id] = job
        self._save(job)
        return job

    def _save(self, job: Job) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            write_atomic(self.dir / f"{job.id}.json", json.dumps(asdict(job), ensure_ascii=False))
        except (OSError, StorageError):
            pass  # a read-only or full disk: the job still runs; its state lives in memory

    def _prune(self) -> None:
        done = sorted((j for j in self._jobs.values() if j.state in FINISHED), key=lambda j: j.created)
        for j in done[: max(0, len(done) - self.keep)]:
            self._jobs.pop(j.id, None)
            (self.dir / f"{j.id}.json").unlink(missing_ok=True)

    def _recover(self) -> None:
        """Load earlier jobs; one left unfinished by a stopped service is failed, as its document is
        not in the index."""
        if not self.dir.is_dir():
            return
        for path in self.dir.glob("*.json"):
            try:
                job = Job(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue
            if job.state in ACTIVE:
                job = replace(
                    job,
                    state="failed",
                    finished=time.time(),
                    error="the service stopped before this job finished; the document was not added",
                )
                self._save(job)
            self._jobs[job.id] = job
        self._prune()
