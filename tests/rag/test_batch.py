"""Micro-batched, cached query embedding and the gate indexing shares with it (``rag.batch``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from rag.batch import Gated, PriorityGate, QueryBatcher
from tests.conftest import FakeEmbedder


class SlowQueries(FakeEmbedder):
    """Each query call takes a while (so concurrent requests pile up) and is recorded."""

    def __init__(self, delay: float = 0.02, fail_on: str | None = None) -> None:
        super().__init__()
        self.delay = delay
        self.fail_on = fail_on
        self.batches: list[list[str]] = []

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        time.sleep(self.delay)
        if self.fail_on is not None and any(self.fail_on in t for t in texts):
            raise ValueError(f"cannot embed {self.fail_on!r}")
        return super().encode_query(texts)


def test_concurrent_queries_are_batched_and_equal_to_one_at_a_time() -> None:
    inner = SlowQueries()
    batcher = QueryBatcher(inner, max_batch=16, max_wait_ms=5, cache_size=0)
    questions = [f"question number {i} about capex" for i in range(48)]
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(lambda q: batcher.encode_query([q])[0], questions))
    batcher.close()
    want = FakeEmbedder().encode_query(questions)
    assert np.array_equal(np.stack(got), want)  # each request got its own vector back
    assert max(len(b) for b in inner.batches) > 1  # and they were embedded together
    assert all(len(b) <= 16 for b in inner.batches)
    assert len(inner.batches) < len(questions)
    assert batcher.stats.queries == len(questions)


def test_a_failing_input_fails_only_its_own_request() -> None:
    inner = SlowQueries(fail_on="boom")
    batcher = QueryBatcher(inner, max_batch=8, max_wait_ms=20, cache_size=0)
    texts = ["fine one", "boom goes this", "fine two", "fine three"]
    futures = [batcher.submit(t) for t in texts]
    results = {}
    for t, f in zip(texts, futures, strict=True):
        try:
            results[t] = f.result(timeout=10)
        except ValueError as e:
            results[t] = e
    batcher.close()
    assert isinstance(results["boom goes this"], ValueError)
    for t in ("fine one", "fine two", "fine three"):
        assert np.array_equal(results[t], FakeEmbedder().encode_query([t])[0])
    assert batcher.stats.failed == 1


def test_repeated_questions_come_from_the_lru_cache() -> None:
    inner = SlowQueries(delay=0)
    batcher = QueryBatcher(inner, cache_size=2)
    a1 = batcher.encode_query(["a question"])
    n = len(inner.batches)
    a2 = batcher.encode_query(["a question"])
    assert len(inner.batches) == n and np.array_equal(a1, a2) and batcher.stats.cache_hits == 1
    batcher.encode_query(["b question"])
    batcher.encode_query(["c question"])  # the cache holds two: "a question" is evicted
    batcher.encode_query(["a question"])
    assert inner.batches[-1] == ["a question"]
    batcher.close()


def test_the_batcher_stands_in_for_its_embedder() -> None:
    inner = FakeEmbedder()
    batcher = QueryBatcher(inner)
    assert (batcher.dim, batcher.model_id) == (inner.dim, inner.model_id)
    assert np.array_equal(batcher.encode_documents(["x y"]), inner.encode_documents(["x y"]))
    assert batcher.encode_query([]).shape == (0, inner.dim)
    assert batcher._worker is None  # no thread until the first question
    batcher.close()
    with pytest.raises(RuntimeError):
        batcher.submit("after close")


def test_queries_go_before_the_next_piece_of_a_document() -> None:
    gate = PriorityGate()
    order: list[str] = []
    with gate.low():  # a document piece is being embedded
        waiting = [
            threading.Thread(target=lambda: _take(gate.low, "document", order)),
            threading.Thread(target=lambda: _take(gate.high, "query", order)),
        ]
        waiting[0].start()
        time.sleep(0.05)
        waiting[1].start()
        time.sleep(0.05)
    for t in waiting:
        t.join(5)
    assert order == ["query", "document"]


def _take(acquire, name: str, order: list[str]) -> None:  # type: ignore[no-untyped-def]
    with acquire():
        order.append(name)


def test_documents_pass_the_gate_in_small_pieces() -> None:
    class Counting(FakeEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.sizes: list[int] = []

        def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
            self.sizes.append(len(texts))
            return super().encode_documents(texts)

    inner = Counting()
    gated = Gated(inner, PriorityGate(), doc_piece=2)
    texts = [f"passage {i}" for i in range(5)]
    assert np.array_equal(gated.encode_documents(texts), FakeEmbedder().encode_documents(texts))
    assert inner.sizes == [2, 2, 1]
    assert not hasattr(gated, "parts")  # a single model: index.cache embeds it whole


def test_answers_sentences_ride_in_the_questions_batches_by_the_model_asked() -> None:
    from index.embed import PairedEmbedder

    class Other(FakeEmbedder):
        model_id = "usem3/fake"

        def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
            return -super().encode_documents(texts)

    class Recorded(PairedEmbedder):
        def __init__(self) -> None:
            super().__init__(SlowQueries(), Other())
            self.calls: list[tuple[str, int]] = []

        def encode_query(self, texts: Sequence[str]) -> np.ndarray:
            self.calls.append(("query", len(texts)))
            time.sleep(0.02)  # requests pile up behind it
            return super().encode_query(texts)

    inner = Recorded()
    batcher = QueryBatcher(inner, max_batch=32, max_wait_ms=10, cache_size=0)
    sentences = [f"第{i}句:研发投入{i}亿元。" for i in range(12)]

    def request(i: int) -> tuple[np.ndarray, np.ndarray]:
        q = batcher.encode_query([f"question {i}"])[0]
        return q, batcher.encode_sentences([sentences[i]], part=i % 2)[0]

    with ThreadPoolExecutor(12) as pool:
        got = list(pool.map(request, range(12)))
    batcher.close()
    for i, (_, s) in enumerate(got):
        want = inner.parts[i % 2].encode_documents([sentences[i]])[0]  # that model alone, unscaled
        assert np.array_equal(s, want)
    assert batcher.stats.queries == 12 and batcher.stats.sentences == 12
    assert batcher.stats.batches < 24  # sentences were embedded together, not one call each
    whole = QueryBatcher(inner, cache_size=0)
    assert np.array_equal(whole.encode_sentences(["x y"]), inner.encode_documents(["x y"]))
    assert whole.encode_sentences([], part=1).shape == (0, 64)
    whole.close()


def test_a_sentence_a_question_waits_for_goes_before_the_next_piece_of_a_document() -> None:
    class Recording(FakeEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.order: list[str] = []

        def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
            self.order.append(texts[0].split()[0])
            return super().encode_documents(texts)

    inner = Recording()
    gate = PriorityGate()
    gated = Gated(inner, gate, doc_piece=1)
    with gate.low():  # a document piece is being embedded
        threads = [
            threading.Thread(target=lambda: gated.encode_documents(["document piece"])),
            threading.Thread(target=lambda: gated.encode_sentences(["sentence quoted"])),
        ]
        threads[0].start()
        time.sleep(0.05)
        threads[1].start()
        time.sleep(0.05)
    for t in threads:
        t.join(5)
    assert inner.order == ["sentence", "document"]
