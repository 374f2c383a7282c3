"""Run the gold questions through an engine and compute the numbers of ``eval/README.md``.

Every retriever is run on the same engine, hence on the same chunks: lexical only, dense only, and the
product's full (hybrid) pipeline, so the report shows what each stage buys. Latency is measured
in-process with the model already loaded, in separate passes (all asks, then all searches of each
mode, then the bare query embeddings) so that a per-question cache in the engine cannot make one
measurement ride on another; the bare query-embedding time is the floor that search latency can be read
against.
"""

from __future__ import annotations

import functools
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from eval.gold import GoldItem, locate_evidence
from eval.metrics import (
    facts_found,
    first_relevant_rank,
    is_relevant,
    make_normalizer,
    mean,
    percentile,
    ranking_metrics,
    share,
)
from rag.figures import unsupported_figures
from rag.types import Answer, Filters, Hit

MODES = ("lexical", "dense", "hybrid")  # baselines first, the product's pipeline last
FULL = "hybrid"
RETRIEVAL_KEYS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
ANSWER_KEYS = ("fact_recall", "citation_precision", "abstention_accuracy", "false_abstention_rate")


class QueryEncoder(Protocol):
    def encode_query(self, texts: Sequence[str]) -> np.ndarray: ...


class Evaluated(Protocol):
    """What the harness needs from ``rag.engine.Engine`` (a fake in the unit tests)."""

    @property
    def embedder(self) -> QueryEncoder: ...

    def search(
        self, query: str, k: int = 10, filters: Filters | None = None, mode: str = "hybrid"
    ) -> Sequence[Hit]: ...

    def ask(self, query: str, filters: Filters | None = None) -> Answer: ...

    def document_text(self, doc: str) -> str: ...


def evaluate(
    engine: Evaluated, items: Sequence[GoldItem], k: int = 10, progress: bool = True
) -> dict[str, Any]:
    """Evaluate ``items`` against ``engine``: the JSON result (README shape plus extras and ``items``).

    Evidence is located in the engine's document texts first, so a gold file that does not match the
    indexed corpus fails before any timing starts.
    """
    if not items:
        raise ValueError("no gold items to evaluate")
    items = locate_evidence(list(items), engine.document_text)
    depth = max(k, 10)
    ks = sorted({1, 5, 10, k})
    normalize = make_normalizer()

    _warm_up(engine, items[0].question, depth)
    bar = tqdm(
        total=len(items) * (len(MODES) + 2), desc="eval", unit="q", disable=not progress, file=sys.stderr
    )
    try:
        answers, ask_ms = _timed_pass(bar, "ask", items, lambda q: engine.ask(q))
        hits: dict[str, list[Sequence[Hit]]] = {}
        search_ms: dict[str, list[float]] = {}
        for mode in reversed(MODES):  # the product's pipeline first: its timing matters most
            search = functools.partial(_search, engine, k=depth, mode=mode)
            hits[mode], search_ms[mode] = _timed_pass(bar, f"search {mode}", items, search)
        _, embed_ms = _timed_pass(bar, "embed", items, lambda q: engine.embedder.encode_query([q]))
    finally:
        bar.close()

    # Judge every retrieved chunk once; the relevant ones, pooled over the retrievers, are the qrels.
    runs: dict[str, dict[str, list[str]]] = {m: {} for m in MODES}
    rel: dict[str, dict[str, list[bool]]] = {m: {} for m in MODES}
    qrels: dict[str, set[str]] = defaultdict(set)
    for i, item in enumerate(items):
        for m in MODES:
            ids, flags = [], []
            for h in hits[m][i]:
                c = h.chunk
                ok = is_relevant(c.doc, c.start, c.end, item.evidence)
                ids.append(c.id)
                flags.append(ok)
                if ok:
                    qrels[item.id].add(c.id)
            runs[m][item.id], rel[m][item.id] = ids, flags
    per_mode = {m: ranking_metrics(runs[m], qrels, ks) for m in MODES}

    records = [
        _record(item, i, answers[i], per_mode, rel, normalize, ask_ms, search_ms, embed_ms)
        for i, item in enumerate(items)
    ]
    for item, r in zip(items, records, strict=True):
        r["pair"] = language_pair(item, engine.document_text)
    result: dict[str, Any] = {
        "n": len(items),
        "n_answerable": sum(it.answerable for it in items),
        "k": k,
        "retrieval": _retrieval(records, FULL, ks),
        "by_lang": _grouped(records, "lang", ks),
        "by_type": _grouped(records, "type", ks),
        "by_pair": _grouped(records, "pair", ks),
        "answer": _answer(records),
        "latency_ms": _latency(ask_ms, search_ms, embed_ms),
        "baselines": {m: {**_retrieval(records, m, ks), **_prefixed_latency(search_ms[m])} for m in MODES},
        "items": records,
    }
    return result


_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def text_language(text: str) -> str:
    """``zh`` when at least a fifth of the letters are Han characters, else ``en`` (coarse on purpose:
    it names the direction of a question, question language to evidence language)."""
    han, latin = len(_HAN.findall(text)), len(_LATIN.findall(text))
    return "zh" if han and han * 5 >= han + latin else "en"


def language_pair(item: GoldItem, document_text: Callable[[str], str]) -> str:
    """``question→evidence`` language, e.g. ``en→zh``; ``zh→none`` for an unanswerable item."""
    q = "en" if item.lang == "en" else "zh"
    if not item.evidence:
        return f"{q}→none"
    return f"{q}→{text_language(document_text(item.evidence[0].doc))}"


def _warm_up(engine: Evaluated, question: str, depth: int) -> None:
    """One untimed call of each kind, so lazy loading and first-call costs stay out of the numbers."""
    engine.embedder.encode_query([question])
    for m in MODES:
        engine.search(question, k=depth, mode=m)
    engine.ask(question)


def _search(engine: Evaluated, query: str, k: int, mode: str) -> Sequence[Hit]:
    return engine.search(query, k=k, mode=mode)


def _timed_pass(
    bar: tqdm, label: str, items: Sequence[GoldItem], call: Callable[[str], Any]
) -> tuple[list[Any], list[float]]:
    bar.set_description(f"eval: {label}")
    out: list[Any] = []
    ms: list[float] = []
    for item in items:
        t0 = time.perf_counter()
        out.append(call(item.question))
        ms.append((time.perf_counter() - t0) * 1000.0)
        bar.update(1)
    return out, ms


def _record(
    item: GoldItem,
    i: int,
    answer: Answer,
    per_mode: dict[str, dict[str, dict[str, float]]],
    rel: dict[str, dict[str, list[bool]]],
    normalize: Callable[[str], str],
    ask_ms: list[float],
    search_ms: dict[str, list[float]],
    embed_ms: list[float],
) -> dict[str, Any]:
    """One item's outcome: enough to see why it failed without re-running anything."""
    found = facts_found(answer.text, item.facts, normalize) if item.answerable else []
    cited = [is_relevant(c.doc, c.start, c.end, item.evidence) for c in answer.citations]
    lead = answer.lead
    return {
        "id": item.id,
        "lang": item.lang,
        "type": item.type,
        "answerable": item.answerable,
        "question": item.question,
        "rank": {m: first_relevant_rank(rel[m][item.id]) if item.answerable else None for m in MODES},
        "retrieval": {m: per_mode[m][item.id] if item.answerable else None for m in MODES},
        "facts_found": found,
        "fact_recall": (sum(found) / len(found)) if found else None,
        "abstained": bool(answer.abstained),
        "citations": len(cited),
        "citations_relevant": sum(cited),
        "answer": answer.text,
        # the lead line (the key figure in the question's language): whether it states a gold fact,
        # and any of its figures that the quote it cites does not state (there must be none)
        "lead": lead,
        "lead_fact": bool(lead and item.answerable and any(facts_found(lead, item.facts, normalize))),
        "lead_unsupported": _lead_unsupported(lead, answer),
        "ms": {
            "ask": ask_ms[i],
            **{f"search_{m}": search_ms[m][i] for m in MODES},
            "embed_query": embed_ms[i],
        },
    }


def _lead_unsupported(lead: str | None, answer: Answer) -> list[str]:
    """The numbers of a lead line that its cited quotes do not state. A quote is shown with its
    attribution (outlet and date): a lead answering "which outlet, and when?" states those."""
    if not lead:
        return []
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", lead)}
    quotes = [" ".join(filter(None, (c.source, c.date, c.quote))) for c in answer.citations if c.n in cited]
    return unsupported_figures(re.sub(r"\[\d+\]", " ", lead), quotes) if quotes else [lead]


def _retrieval(records: Sequence[dict[str, Any]], mode: str, ks: Sequence[int]) -> dict[str, float | None]:
    rows = [r["retrieval"][mode] for r in records if r["answerable"]]
    keys = [f"recall@{k}" for k in ks] + ["mrr@10", "ndcg@10"]
    return {key: mean(row[key] for row in rows) for key in keys}


def _answer(records: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]
    n_cit = sum(r["citations"] for r in answerable)
    # With answerable items but no citation at all, precision is 0/0; report 0 (scikit-learn's
    # zero_division convention) so that an engine that never cites cannot look better than one that does.
    cit_prec = (
        (sum(r["citations_relevant"] for r in answerable) / n_cit if n_cit else 0.0) if answerable else None
    )
    return {
        "fact_recall": mean(r["fact_recall"] for r in answerable) if answerable else None,
        "citation_precision": cit_prec,
        "abstention_accuracy": share(r["abstained"] for r in unanswerable),
        "false_abstention_rate": share(r["abstained"] for r in answerable),
        "lead_rate": share(r.get("lead_fact", False) for r in answerable),
        "lead_unsupported": sum(bool(r.get("lead_unsupported")) for r in records),
    }


def _grouped(records: Sequence[dict[str, Any]], key: str, ks: Sequence[int]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[r[key]].append(r)
    return {
        name: {
            "n": len(rs),
            "n_answerable": sum(r["answerable"] for r in rs),
            **_retrieval(rs, FULL, ks),
            **_answer(rs),
        }
        for name, rs in sorted(groups.items())
    }


def _latency(ask_ms: list[float], search_ms: dict[str, list[float]], embed_ms: list[float]) -> dict[str, Any]:
    embed_p50 = percentile(embed_ms, 50)
    search_p50 = percentile(search_ms[FULL], 50)
    return {
        "search_p50": search_p50,
        "search_p95": percentile(search_ms[FULL], 95),
        "ask_p50": percentile(ask_ms, 50),
        "ask_p95": percentile(ask_ms, 95),
        "embed_query_p50": embed_p50,
        "embed_query_p95": percentile(embed_ms, 95),
        # search time as a multiple of the bare query embedding it cannot go below
        "search_over_embed_p50": (search_p50 / embed_p50) if search_p50 is not None and embed_p50 else None,
    }


def _prefixed_latency(ms: list[float]) -> dict[str, float | None]:
    return {"search_p50": percentile(ms, 50), "search_p95": percentile(ms, 95)}
