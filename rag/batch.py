"""Query embedding for many requests at once: one worker, dynamic micro-batches, an LRU cache, and
a model that indexing shares without starving the questions.

The embedders answer a batch of 32 queries in about the time of a few single ones, and their thread
pools fight when several requests call them at the same time. So every request's question goes to one
worker thread per process, which gathers what arrives within ``max_wait_ms`` (or until ``max_batch``)
and embeds it in one call, the way text-embeddings-inference and Triton batch requests. A request
waits only for its own batch. A failing batch is retried one query at a time, so an input the model
rejects fails only the request that sent it.

Questions repeat (the widget's example questions, retries, the evaluation's three modes), so recent
query vectors are kept in a small LRU cache keyed by the exact text.

An answer also needs the document-side vector of the sentence it quotes (the abstention model weighs
the question's cosine to it), often from one model of a pair only. Those go through the same worker
and batches as the questions, and at their priority: a request that has its passages must not queue
behind a document being indexed, nor call the model on its own beside the batches.

Indexing in the background uses the same model objects, through a ``PriorityGate``: one model call
at a time (so the process never runs more than ``RAG_THREADS`` embedding threads), documents in small
pieces, and a waiting query batch goes before the next piece of a document.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.embed import Embedder


class PriorityGate:
    """One model call at a time; queries (high priority) go before document pieces (low)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._waiting_high = 0

    @contextmanager
    def high(self) -> Iterator[None]:
        with self._cond:
            self._waiting_high += 1
            try:
                self._cond.wait_for(lambda: not self._busy)
            finally:
                self._waiting_high -= 1
            self._busy = True
        yield from self._held()

    @contextmanager
    def low(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._busy and self._waiting_high == 0)
            self._busy = True
        yield from self._held()

    def _held(self) -> Iterator[None]:
        """The call runs here; the gate opens again however it ends."""
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


class Gated:
    """An embedder whose calls pass a ``PriorityGate``: queries at high priority, documents at low
    priority in pieces of ``doc_piece`` texts (a question waits for at most one piece)."""

    def __init__(self, inner: Embedder, gate: PriorityGate, doc_piece: int = 2) -> None:
        self.inner = inner
        self.gate = gate
        self.doc_piece = max(1, doc_piece)

    def __getattr__(self, name: str) -> Any:
        if name == "parts":
            parts = getattr(self.inner, "parts", None)
            if not parts:
                raise AttributeError(name)
            # a pair is embedded part by part (index.cache): each part passes the gate
            return tuple(Gated(p, self.gate, self.doc_piece) for p in parts)
        return getattr(self.inner, name)

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        with self.gate.high():
            return self.inner.encode_query(texts)

    def encode_sentences(self, texts: Sequence[str]) -> np.ndarray:
        """Document-side vectors that a waiting question needs (its quoted sentence): a few short
        texts, so at the questions' priority and in one call."""
        with self.gate.high():
            return self.inner.encode_documents(texts)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = []
        for i in range(0, len(texts), self.doc_piece):
            with self.gate.low():
                out.append(np.asarray(self.inner.encode_documents(texts[i : i + self.doc_piece]), np.float32))
        if not out:
            return np.zeros((0, self.inner.dim), dtype=np.float32)
        return np.concatenate(out)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


@dataclass
class BatchStats:
    """What the worker did, for the metrics endpoint and the benchmark."""

    batches: int = 0
    queries: int = 0
    sentences: int = 0  # quoted sentences embedded for answers (document side), in the same batches
    cache_hits: int = 0
    largest: int = 0
    failed: int = 0
    sizes: dict[int, int] = field(default_factory=dict)


# what a queued text is embedded as: a question, or an answer's sentence on the document side by
# the whole embedder (None) or by one part of a pair (its index in ``parts``)
QUERY = "query"
Kind = str | int | None


class QueryBatcher:
    """An ``Embedder`` whose ``encode_query`` is batched across threads and cached; so is
    ``encode_sentences`` (an answer's quoted sentence, document side).

    Everything else (``encode_documents``, ``dim``, ``model_id``, ``segments``...) is the wrapped
    embedder's, so the batcher can stand wherever the embedder stood.
    """

    def __init__(
        self, embedder: Embedder, max_batch: int = 32, max_wait_ms: float = 2.0, cache_size: int = 1024
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.inner = embedder
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.cache_size = cache_size
        self.stats = BatchStats()
        self._cache: OrderedDict[tuple[Kind, str], np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._queue: queue.Queue[tuple[Kind, str, Future[np.ndarray]] | None] = queue.Queue()
        self._closed = False
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        # only reached for attributes the batcher does not define itself
        return getattr(self.inner, name)

    # ------------------------------------------------------------------ the Embedder interface

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        futures = [self.submit(t) for t in texts]
        if not futures:
            return np.zeros((0, self.inner.dim), dtype=np.float32)
        return np.stack([f.result() for f in futures])

    def encode_sentences(self, texts: Sequence[str], part: int | None = None) -> np.ndarray:
        """Document-side vectors of a few short texts a question is waiting for (its answer's quoted
        sentence), embedded in the questions' batches; ``part``: by that model of a pair alone."""
        futures = [self.submit(t, part) for t in texts]
        if not futures:
            return np.zeros((0, self._model(part).dim), dtype=np.float32)
        return np.stack([f.result() for f in futures])

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_documents(texts)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    # ------------------------------------------------------------------ batching

    def submit(self, text: str, kind: Kind = QUERY) -> Future[np.ndarray]:
        """A future for one text's vector (a query's, or a sentence's as ``encode_sentences``
        embeds it): at once from the cache, else after its batch."""
        fut: Future[np.ndarray] = Future()
        with self._cache_lock:
            hit = self._cache.get((kind, text))
            if hit is not None:
                self._cache.move_to_end((kind, text))
                self.stats.cache_hits += 1
        if hit is not None:
            fut.set_result(hit)
            return fut
        if self._closed:
            raise RuntimeError("the query embedder is closed")
        if self._worker is None:
            with self._start_lock:  # started on first use: an engine that never searches has no thread
                if self._worker is None:
                    self._worker = threading.Thread(target=self._run, name="query-embedder", daemon=True)
                    self._worker.start()
        self._queue.put((kind, text, fut))
        return fut

    def close(self) -> None:
        """Stop the worker after the queries already queued."""
        if not self._closed:
            self._closed = True
            if self._worker is not None:
                self._queue.put(None)
                self._worker.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.max_batch:
                try:
                    # whatever queued while the last batch was embedded is taken at once
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._embed(batch)
            if stop:
                return

    def _embed(self, batch: list[tuple[Kind, str, Future[np.ndarray]]]) -> None:
        live = [(k, t, f) for k, t, f in batch if f.set_running_or_notify_cancel()]
        if not live:
            return
        vecs: dict[tuple[Kind, str], np.ndarray] = {}
        # one model call per kind; the same text twice is embedded once
        for kind in dict.fromkeys(k for k, _, _ in live):
            texts = list(dict.fromkeys(t for k, t, _ in live if k == kind))
            try:
                vecs.update(zip([(kind, t) for t in texts], self._call(kind, texts), strict=True))
            except Exception:
                # one bad input must not fail the others: retry them one by one
                for t in texts:
                    try:
                        vecs[(kind, t)] = self._call(kind, [t])[0]
                    except Exception as e:  # noqa: BLE001 - handed to the request that sent it
                        for kk, tt, f in live:
                            if (kk, tt) == (kind, t):
                                f.set_exception(e)
                        self.stats.failed += 1
        n_queries = sum(k == QUERY for k, _, _ in live)
        self.stats.batches += 1
        self.stats.queries += n_queries
        self.stats.sentences += len(live) - n_queries
        self.stats.largest = max(self.stats.largest, len(live))
        self.stats.sizes[len(live)] = self.stats.sizes.get(len(live), 0) + 1
        with self._cache_lock:
            for key, v in vecs.items():
                self._cache[key] = v
                self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        for k, t, f in live:
            if (k, t) in vecs:
                f.set_result(vecs[(k, t)])

    def _call(self, kind: Kind, texts: list[str]) -> np.ndarray:
        if kind == QUERY:
            return np.asarray(self.inner.encode_query(texts))
        model = self._model(None if kind is None else int(kind))
        # a gated model embeds them at the questions' priority; a bare one as documents
        encode = getattr(model, "encode_sentences", model.encode_documents)
        return np.asarray(encode(texts))

    def _model(self, part: int | None) -> Embedder:
        """The wrapped embedder, or one model of the pair it is."""
        return self.inner if part is None else getattr(self.inner, "parts")[part]  # noqa: B009
