"""Approximate search for large indexes: an inverted-file (IVF) index and the choice of its knobs.

An exact scan reads every vector for every query: at a million 896-dimensional chunks that is 3.6 GB
of memory traffic per search. ``IndexIVFFlat`` clusters the vectors into ``nlist`` lists and scans
only the ``nprobe`` lists whose centroids are nearest the query, trading a little recall for a scan
of a few percent of the index. Both knobs are chosen here, from the data, so nobody has to tune them:

* ``nlist`` ~ 4·sqrt(N): the usual rule, balancing the centroid scan against the list scan.
* ``nprobe``: the smallest value on a ladder whose recall@10 against exact search reaches a target
  (0.98) on queries made near stored vectors, measured at build time (``calibrate_nprobe``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.embed import split_queries

TRAIN_PER_LIST = 40  # faiss warns below 39 training points per centroid; more only slows k-means
CALIBRATION_QUERIES = 200
CALIBRATION_K = 10
TWIN_ROWS = 256
TWIN_DEPTH = 1000  # near-duplicates of one query looked past, at most
NPROBE_LADDER = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)


@dataclass(frozen=True)
class Calibration:
    nprobe: int
    recall_at_10: float


def ivf_nlist(n: int) -> int:
    """4·sqrt(n) lists, but never fewer than TRAIN_PER_LIST training points per list (small n)."""
    return max(1, min(round(4 * math.sqrt(n)), n // TRAIN_PER_LIST))


def build_ivf(faiss: Any, vectors: np.ndarray, ids: np.ndarray, nlist: int, seed: int = 0) -> Any:
    """An ``IndexIVFFlat`` (inner product, spherical k-means) trained on a sample and holding all rows.

    The index carries the caller's int64 ids itself, so no ``IndexIDMap`` is wrapped around it: the
    id map's ``remove_ids`` assumes the inner index renumbers its rows after a removal, which IVF
    does not, and would silently return the wrong ids afterwards."""
    n, dim = vectors.shape
    rng = np.random.default_rng(seed)
    sample = min(n, TRAIN_PER_LIST * nlist)
    rows = np.sort(rng.choice(n, size=sample, replace=False)) if sample < n else np.arange(n)
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.seed = seed
    ivf.train(np.ascontiguousarray(vectors[rows]))
    ivf.add_with_ids(vectors, ids)
    return ivf


def recall_at_k(approx: Sequence[np.ndarray] | np.ndarray, exact: Sequence[np.ndarray] | np.ndarray) -> float:
    """Share of the exact top-k ids that the approximate top-k also returned (padding ignored)."""
    hits = total = 0
    for a, e in zip(approx, exact, strict=True):
        want = {int(i) for i in e if i >= 0}
        hits += len(want & {int(i) for i in a if i >= 0})
        total += len(want)
    return hits / total if total else 1.0


def calibration_queries(vectors: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """Stored rows as queries, and a few hundred other random rows to tell their twins by.

    A stored row is far too easy a query when the corpus holds near-duplicates of it (versions of
    one report, boilerplate, or the synthetic benchmark's perturbed copies): they share its list,
    and the first probe finds all ten. A new question has no such twins; its neighbours are merely
    related passages, spread over neighbouring lists. So rows more similar to the query than it
    typically is to its nearest of the random rows are left out of both the exact and the
    approximate results, and recall is measured on the related passages that remain."""
    rng = np.random.default_rng(seed + 1)
    picked = rng.choice(len(vectors), size=min(n + TWIN_ROWS, len(vectors)), replace=False)
    queries = np.ascontiguousarray(vectors[picked[:n]])
    others = np.ascontiguousarray(vectors[picked[n:]]) if len(picked) > n + 1 else None
    return queries, others


def _twin_bar(faiss: Any, queries: np.ndarray, others: np.ndarray | None) -> float:
    if others is None:
        return float("inf")  # too few rows to tell twins from neighbours: keep all
    sims, _ = faiss.knn(queries, others, 1, metric=faiss.METRIC_INNER_PRODUCT)
    return float(np.median(sims[:, 0]))


def _beyond_twins(scores: np.ndarray, ids: np.ndarray, twin: float, k: int) -> list[np.ndarray]:
    return [row_ids[(row_s <= twin) & (row_ids >= 0)][:k] for row_s, row_ids in zip(scores, ids, strict=True)]


def part_queries(queries: np.ndarray, parts: Sequence[int]) -> list[np.ndarray]:
    """``queries`` as a caller of a store of side-by-side vectors sends them: the whole vector, and
    for each part of ``parts`` (widths) the query zero outside it (``index.embed.segment_queries``;
    its scale does not change a ranking)."""
    if len(parts) < 2:
        return [queries]
    return [queries, *split_queries(queries, [(str(i), w) for i, w in enumerate(parts)]).values()]


def calibrate_nprobe(
    faiss: Any,
    ivf: Any,
    vectors: np.ndarray,
    ids: np.ndarray,
    target: float,
    seed: int = 0,
    parts: Sequence[int] = (),
) -> Calibration:
    """The smallest ladder nprobe whose recall@10 against exact search reaches ``target`` for every
    kind of query (whole vectors, and each of ``parts`` alone: see ``part_queries``), measured
    beyond each query's near-duplicates (see ``calibration_queries``).

    A part's neighbours are not the whole vector's, and the lists were clustered on whole vectors,
    so a query on one part needs many more lists than a whole one; it is measured, not assumed."""
    k = min(CALIBRATION_K, len(vectors))
    deep = min(len(vectors), k + TWIN_DEPTH)
    base, others = calibration_queries(vectors, CALIBRATION_QUERIES, seed)
    kinds = []
    for q in part_queries(base, parts):
        q = np.ascontiguousarray(q)
        bar = _twin_bar(faiss, q, others)  # a part has its own scale of similarity
        scores, rows = faiss.knn(q, vectors, deep, metric=faiss.METRIC_INNER_PRODUCT)
        exact = _beyond_twins(scores, ids[rows], bar, k)
        keep = [
            i for i, e in enumerate(exact) if len(e) == k
        ]  # a query whose twins fill the depth says nothing
        kinds.append((q[keep], bar, [exact[i] for i in keep]))
    ladder = [p for p in NPROBE_LADDER if p < ivf.nlist] + [int(ivf.nlist)]
    recall = 0.0
    for nprobe in ladder:
        params = faiss.SearchParametersIVF()
        params.nprobe = nprobe
        recall = 1.0
        for q, bar, exact in kinds:
            if len(q):
                scores, got = ivf.search(q, deep, params=params)
                recall = min(recall, recall_at_k(_beyond_twins(scores, got, bar, k), exact))
        if recall >= target:
            return Calibration(nprobe, recall)
    return Calibration(ladder[-1], recall)  # nprobe = nlist scans every list: exact
