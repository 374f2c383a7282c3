"""The metric definitions of ``eval/README.md``, implemented independently of the product code.

Ranking metrics come from ``pytrec_eval`` (the C implementation of trec_eval), not from hand-rolled
formulas. Note that trec_eval's ``recall_k`` is *the share of the relevant documents that were
retrieved*; the README's Recall@k is *whether at least one relevant chunk is in the top k* (a hit rate:
one relevant passage is enough to answer). That is trec_eval's ``success_k`` measure, so Recall@k is
reported from ``success``; ``recip_rank`` over a run cut at 10 gives MRR@10, ``ndcg_cut_10`` nDCG@10.

Relevance is judged per chunk span, so trec_eval needs judgements (qrels) for chunk ids. They are
*pooled*, as TREC builds its qrels: every chunk that any of the compared retrievers (lexical, dense,
hybrid) returned is judged against the evidence, and the relevant ones form the qrels of the item. nDCG's
ideal ranking is then built from every relevant chunk any retriever found, so a list is not rewarded for
missing relevant chunks another retriever found.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pytrec_eval

from eval.gold import Evidence

Normalizer = Callable[[str], str]

# Sentinel judgement: keeps an item with no relevant chunk in the evaluation (it scores 0) instead of
# trec_eval silently dropping the query.
_NO_RELEVANT = "\x00none"
_WS = re.compile(r"\s+")


# --- relevance -------------------------------------------------------------------------------------


def overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Characters shared by two half-open spans."""
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def relevance_threshold(quote: str) -> float:
    """Minimum overlap for a chunk to count as containing a quote: half the quote, at most 60 chars.

    Half, so a chunk boundary that cuts a quote still counts when the chunk holds most of it; capped,
    so that a long quote split across two chunks makes both relevant.
    """
    return min(len(quote) / 2, 60)


def is_relevant(doc: str, start: int, end: int, evidence: Iterable[Evidence]) -> bool:
    """Whether the span ``doc[start:end]`` overlaps any occurrence of any evidence quote enough."""
    for ev in evidence:
        if ev.doc != doc:
            continue
        need = relevance_threshold(ev.quote)
        if any(overlap((start, end), s) >= need for s in ev.spans):
            return True
    return False


# --- ranking metrics (pytrec_eval) ------------------------------------------------------------------


def ranking_metrics(
    runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Iterable[str]], ks: Sequence[int] = (1, 5, 10)
) -> dict[str, dict[str, float]]:
    """Recall@k (hit rate), MRR@10 and nDCG@10 per query from ranked chunk-id lists and relevant ids.

    ``runs[q]`` is the ranked list (best first); ``qrels[q]`` the relevant chunk ids. Returns
    ``{q: {"recall@1": .., "recall@5": .., "recall@10": .., "mrr@10": .., "ndcg@10": ..}}``.
    """
    ks = sorted({int(k) for k in ks})
    judged: dict[str, dict[str, int]] = {}
    for q in runs:
        rel = {doc: 1 for doc in qrels.get(q, ())}
        judged[q] = rel or {_NO_RELEVANT: 0}
    depth = max([10, *ks])
    full = {q: _as_run(ids, depth) for q, ids in runs.items()}
    top10 = {q: _as_run(ids, 10) for q, ids in runs.items()}

    cut = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank", "ndcg_cut.10"}).evaluate(top10)
    hits = pytrec_eval.RelevanceEvaluator(judged, {"success." + ",".join(map(str, ks))}).evaluate(full)
    out: dict[str, dict[str, float]] = {}
    for q in runs:
        # trec_eval omits a query whose run is empty: nothing retrieved scores 0 on every measure.
        c, h = cut.get(q, {}), hits.get(q, {})
        row = {f"recall@{k}": float(h.get(f"success_{k}", 0.0)) for k in ks}
        row["mrr@10"] = float(c.get("recip_rank", 0.0))
        row["ndcg@10"] = float(c.get("ndcg_cut_10", 0.0))
        out[q] = row
    return out


def _as_run(ids: Sequence[str], depth: int) -> dict[str, float]:
    """A trec_eval run for one query: strictly decreasing scores keep our order (trec_eval re-sorts by
    score and breaks ties by doc id); a repeated id keeps its best rank."""
    run: dict[str, float] = {}
    for doc in ids:
        if len(run) >= depth:
            break
        if doc not in run:
            run[doc] = float(depth - len(run))
    return run


def first_relevant_rank(relevance: Sequence[bool]) -> int | None:
    """1-based rank of the first relevant entry, for per-item debugging records."""
    return next((i + 1 for i, r in enumerate(relevance) if r), None)


# --- answers ----------------------------------------------------------------------------------------


def make_normalizer() -> Normalizer:
    """The README's match normalisation: NFKC, lower case, traditional -> simplified, no whitespace.

    Built per evaluation (the OpenCC converter loads its dictionaries at construction).
    """
    import opencc

    t2s = opencc.OpenCC("t2s")

    def normalize(text: str) -> str:
        t = unicodedata.normalize("NFKC", text).lower()
        t = t2s.convert(t)
        return _WS.sub("", t)

    return normalize


def facts_found(answer: str, facts: Sequence[Sequence[str]], normalize: Normalizer) -> list[bool]:
    """Per fact, whether the answer states it: any one of the fact's accepted strings occurs in it."""
    a = normalize(answer)
    return [any(normalize(s) in a for s in alternatives if normalize(s)) for alternatives in facts]


def fact_recall(answer: str, facts: Sequence[Sequence[str]], normalize: Normalizer) -> float | None:
    """Share of the facts stated in the answer; None for an item without facts."""
    found = facts_found(answer, facts, normalize)
    return sum(found) / len(found) if found else None


# --- aggregation ------------------------------------------------------------------------------------


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values; None when there are none (no such item in the gold file)."""
    vs = [float(v) for v in values if v is not None]
    return sum(vs) / len(vs) if vs else None


def share(flags: Iterable[bool]) -> float | None:
    fs = list(flags)
    return sum(fs) / len(fs) if fs else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default); None for no measurements."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))
