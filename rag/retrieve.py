"""Hybrid retrieval: dense vectors (two models) and two BM25 fields, fused by normalised scores.

Signals, for every candidate passage:

* ``use``: cosine with USE-multilingual, whose vectors are aligned across languages: the one signal
  that can say an English paragraph answers a Chinese question better than a Chinese one does;
* ``e5``: cosine with multilingual-e5-small, sharp within one language but biased towards passages in
  the question's own language (so it only ranks those);
* ``text`` and ``gloss``: BM25 over the passage's words and over the English stems/glosses of its words.

Reciprocal-rank fusion lets a list that is confidently wrong (the Chinese siblings of the English
paragraph that answers a Chinese question, all matching its words) outvote the right one. So scores are
fused instead, and every signal that is not comparable across languages is *normalised within the
passage's language*: BM25 as the share by which a passage falls short of the best BM25 score among
passages of that language, e5 as the distance to the best e5 cosine there (so the best passage of each
language scores 0 on both, and a language the question's words cannot match loses nothing for it).
A passage's language is its document's (``IndexSnapshot.chinese``): an English table inside a Chinese
report is one of the report's passages, not the best of an English group of its own.
Within one language the signals rank as usual; between the best passages of two languages, the aligned
USE cosine decides. On a corpus in one language this is plain score fusion. The weights are fitted on
``shared/train`` (see ``FusionWeights``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from index.embed import Embedder, segment_queries
from index.lexical import RemoteLexical
from index.normalize import normalize
from index.snapshot import IndexSnapshot
from index.store import MilvusCollection, milvus_filter
from index.types import Chunk
from rag.query import Query
from rag.types import Filters, Hit

MODES = ("hybrid", "dense", "lexical")
ALIGNED = frozenset({"use"})  # dense parts whose cosines compare across languages


@dataclass(frozen=True)
class FusionWeights:
    """Weight of each normalised signal, fitted on the calibration set (``shared/train``: 1,866 Chinese
    questions, no benchmark item) by ``python -m eval.fit fusion --gold ../shared/train/gold.jsonl
    --corpus ../shared/train/corpus``: the best MRR@10 there (0.968) over the grid in ``eval/fit.py``.

    Those questions are all in one language, so they fit how the signals rank passages *within* a
    language; between languages the normalisation leaves the aligned cosine to decide, whatever its
    weight. The train set wants the aligned weight as small as the grid allows: within one language it
    adds little to e5 and BM25."""

    aligned: float = 0.25  # USE cosine, raw
    dense: float = 4.0  # e5 cosine minus the best e5 cosine among passages of the same language
    text: float = 0.2  # BM25 text field, as the share short of the best in the same language
    gloss: float = 0.2  # BM25 gloss field, likewise
    # The same two BM25 fields for passages in the *other* language than the question's, where the
    # words meet only through the dictionary (and shared figures and Latin names) and e5 is left out;
    # and how far each language's best passage is lifted to meet the other language's on its aligned
    # cosine alone (0: it keeps what it lacks against its own language's best on the other signals;
    # 1: none of that counts between languages). Fitted with the four weights above held, on a corpus
    # in both languages built from the calibration set (``python -m eval.crosslingual
    # ../shared/train/gold.jsonl mixed/ --mixed ../shared/train/corpus``: every second paragraph
    # rendered into English, each question asked in both languages) by ``python -m eval.fit fusion
    # --cross --gold mixed/gold.jsonl --corpus mixed/corpus``: the best MRR@10 averaged over the four
    # (question, evidence) language pairs, 0.846 (en-en 0.866, en-zh 0.800, zh-en 0.807, zh-zh 0.911).
    # The aligned weight was searched there too (0.125-1.0) and 0.25 stayed within 0.001 of the best.
    cross_text: float = 0.1
    cross_gloss: float = 0.2
    rebase: float = 0.25


def dense_scores(
    snapshot: IndexSnapshot,
    qvec: np.ndarray,
    candidates: int,
    allowed: np.ndarray | None,
    where: str | None = None,
) -> dict[int, float]:
    """Top candidates by cosine similarity from the vector store (all chunks when filtering here;
    ``where``: the filter as an expression the store applies, Milvus's)."""
    n = snapshot.size
    if n == 0:
        return {}
    k = n if allowed is not None else min(n, candidates)
    q = qvec.reshape(1, -1).astype(np.float32)
    if where and isinstance(snapshot.store, MilvusCollection):
        scores, ids = snapshot.store.search(q, k, where)
    else:
        scores, ids = snapshot.store.search(q, k)
    out: dict[int, float] = {}
    for s, i in zip(scores[0], ids[0], strict=True):
        if i < 0 or (allowed is not None and not allowed[i]):
            continue
        out[int(i)] = float(s)
        if len(out) >= candidates:
            break
    return out


def _top(scores: np.ndarray, candidates: int, allowed: np.ndarray | None) -> dict[int, float]:
    if allowed is not None:
        scores = np.where(allowed, scores, 0.0)
    if not scores.size:
        return {}
    k = min(candidates, scores.size)
    idx = np.argpartition(-scores, k - 1)[:k]
    return {int(i): float(scores[i]) for i in idx if scores[i] > 0}


@dataclass
class Signals:
    """Every retriever's raw scores for one question's candidate passages (``ids``)."""

    ids: np.ndarray
    chinese: np.ndarray | None  # per candidate: written in Chinese
    dense: dict[str, dict[int, float]]
    lexical: dict[str, np.ndarray]
    question_chinese: bool = True


def gather(
    snapshot: IndexSnapshot,
    embedder: Embedder,
    query: Query,
    *,
    candidates: int = 50,
    filters: Filters | None = None,
    mode: str = "hybrid",
    qvec: np.ndarray | None = None,
) -> Signals:
    """Run the retrievers of ``mode``; the candidates are the union of each one's top ``candidates``."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {MODES}")
    allowed = None  # per chunk, whether the filters accept it (for the searches run here)
    where = None  # the filters as Milvus's expression (for the searches run in Milvus)
    in_milvus = isinstance(snapshot.store, MilvusCollection)
    remote = isinstance(snapshot.lexical, RemoteLexical)
    if filters is not None and not filters.empty:
        if in_milvus:
            where = milvus_filter(filters.sources, filters.docs, filters.date_from, filters.date_to)
        if not (in_milvus and remote):
            allowed = np.fromiter(
                (filters.accepts(c) for c in snapshot.chunks), dtype=bool, count=snapshot.size
            )
    dense: dict[str, dict[int, float]] = {}
    lexical: dict[str, np.ndarray] = {}
    if mode in ("hybrid", "dense"):
        if qvec is None:
            qvec = embedder.encode_query([query.text])[0]
        for name, q in segment_queries(embedder, qvec).items():
            dense[name] = dense_scores(snapshot, q, candidates, None if where else allowed, where)
    if mode in ("hybrid", "lexical"):
        for f, terms in (("text", query.text_terms), ("gloss", query.gloss_terms)):
            if terms:
                lex = snapshot.lexical
                sc = lex.scores(f, terms, where) if isinstance(lex, RemoteLexical) else lex.scores(f, terms)
                lexical[f] = np.where(allowed, sc, 0.0) if allowed is not None else sc
    pool: set[int] = set()
    for d in dense.values():
        pool.update(d)
    for sc in lexical.values():
        pool.update(_top(sc, candidates, None))
    ids = np.fromiter(sorted(pool), dtype=np.int64, count=len(pool))
    return Signals(ids, snapshot.chinese[ids], dense, lexical, query.lang == "zh")


def search(
    snapshot: IndexSnapshot,
    embedder: Embedder,
    query: Query,
    *,
    k: int = 10,
    candidates: int = 50,
    filters: Filters | None = None,
    mode: str = "hybrid",
    weights: FusionWeights | None = None,
    qvec: np.ndarray | None = None,
    penalty: Callable[[Chunk], float] | None = None,
) -> list[Hit]:
    """The top ``k`` passages by fused score; ``penalty`` (a chunk's deduction from its fused score)
    is how a preference for curated sources enters the ranking (``Settings.trusted_sources``)."""
    sig = gather(snapshot, embedder, query, candidates=candidates, filters=filters, mode=mode, qvec=qvec)
    if not sig.ids.size:
        return []
    fused, per = fuse(sig, weights or FusionWeights())
    if penalty is not None:
        fused = fused - np.fromiter(
            (penalty(snapshot.chunks[int(i)]) for i in sig.ids), dtype=np.float64, count=len(sig.ids)
        )
    order = np.lexsort((sig.ids, -fused))
    hits: list[Hit] = []
    kept_sigs: list[set[str]] = []
    for j in order:
        i = int(sig.ids[j])
        c = snapshot.chunks[i]
        sh = _shingles(c.text)
        if any(_contained(sh, other) >= 0.8 for other in kept_sigs):
            continue  # says nothing that a better-ranked chunk does not already say
        kept_sigs.append(sh)
        s = float(fused[j])
        hits.append(Hit(chunk=c, score=s, rank=len(hits) + 1, scores={**per[j], "fused": s}))
        if len(hits) >= k:
            break
    return hits


def fuse(sig: Signals, w: FusionWeights) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Fused score of each candidate ``sig.ids[j]`` and its raw signals.

    A dense part's cosine for a candidate outside its own top list is taken as its lowest listed
    cosine (an upper bound for the unlisted ones, so a candidate is never pushed down for it).

    Between languages the aligned model decides. Without one (a single embedder, or lexical only)
    nothing could, so the scores are then not split by language at all: plain score fusion."""
    ids = sig.ids
    dense = {name: d for name, d in sig.dense.items() if d}
    # per candidate, written in Chinese; None when languages are not told apart
    chinese = sig.chinese if any(name in ALIGNED for name in dense) else None
    groups = [chinese, ~chinese] if chinese is not None else [np.ones(len(ids), bool)]
    fused = np.zeros(len(ids))
    penalty = np.zeros(len(ids))
    raw: dict[str, np.ndarray] = {}
    for name, d in dense.items():
        floor = min(d.values())
        v = np.fromiter((d.get(int(i), floor) for i in ids), dtype=np.float64, count=len(ids))
        raw[name] = v
        if name in ALIGNED:
            fused += w.aligned * v
        else:
            rel = _within(v, groups, lambda x: x - x.max())
            if chinese is not None:
                # e5 ranks passages in the question's own language only: across languages its
                # cosines say little (R@5 0.06-0.48 measured on cross-lingual pairs)
                rel = np.where(chinese == sig.question_chinese, rel, 0.0)
            fused += w.dense * rel
    for name, sc in sig.lexical.items():
        v = sc[ids].astype(np.float64)
        raw[name] = v
        weight: float | np.ndarray = w.text if name == "text" else w.gloss
        if chinese is not None:
            cross = w.cross_text if name == "text" else w.cross_gloss
            weight = np.where(chinese == sig.question_chinese, weight, cross)
        # each language's best match scores 0 and the others the share they fall short of it; a
        # language the question's words never match (no Chinese word is in an English text) loses
        # nothing for it. But passages in the question's own language that share none of its words
        # while other passages do are as far short as can be: a Chinese report's few English tables
        # are not the best English answer to an English question for matching nothing
        fused += weight * _within(v, groups, lambda x: x / x.max() - 1.0 if x.max() > 0 else x * 0.0)
        if chinese is not None and v.max() > 0:
            own = chinese == sig.question_chinese
            if own.any() and v[own].max() <= 0:
                penalty[own] -= weight[own] if isinstance(weight, np.ndarray) else weight
    if chinese is not None:
        aligned = sum((raw[n] for n in raw if n in ALIGNED), np.zeros(len(ids)))
        for g in groups:
            if g.any():
                # the best passage of each language is lifted towards meeting the others on its
                # aligned cosine alone (``rebase``): what it lacks against its own language's best
                # on the other signals says little about the other language, and a language with
                # a single candidate would otherwise win for being its own best at everything
                top = np.flatnonzero(g)[np.argmax(fused[g])]
                fused[g] -= w.rebase * (fused[top] - w.aligned * aligned[top])
        fused += penalty
    per = [{name: float(v[j]) for name, v in raw.items()} for j in range(len(ids))]
    return fused, per


def _within(v: np.ndarray, groups: list[np.ndarray], f) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.zeros_like(v)
    for g in groups:
        if g.any():
            out[g] = f(v[g])
    return out


def _shingles(text: str, n: int = 3) -> set[str]:
    t = "".join(normalize(text).split())
    return {t[i : i + n] for i in range(max(1, len(t) - n + 1))}


def _contained(a: set[str], b: set[str]) -> float:
    """Overlap coefficient: the share of the smaller shingle set found in the other (a reposted
    article with an extra heading, or a chunk that adds only a byline, still counts as a copy)."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
