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
from dataclasses import dataclass
from typing import Any

import numpy as np

TRAIN_PER_LIST = 40  # faiss warns below 39 training points per centroid; more only slows k-means
CALIBRATION_QUERIES = 200
CALIBRATION_K = 10
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


def recall_at_k(approx: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact top-k ids that the approximate top-k also returned (padding ignored)."""
    hits = total = 0
    for a, e in zip(approx, exact, strict=True):
        want = {int(i) for i in e if i >= 0}
        hits += len(want & {int(i) for i in a if i >= 0})
        total += len(want)
    return hits / total if total else 1.0


def calibration_queries(faiss: Any, vectors: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Queries near stored vectors, as far from them as a stored vector is from its nearest neighbour.

    A stored vector itself would be too easy a query (it lies in the list it was assigned to), and a
    real question lies farther from its passages than passages lie from each other; this offset puts
    the query where its neighbours may fall in several lists, as a real question's do."""
    rng = np.random.default_rng(seed + 1)
    rows = rng.choice(len(vectors), size=min(n, len(vectors)), replace=False)
    base = np.ascontiguousarray(vectors[rows])
    d2, _ = faiss.knn(base, vectors, 2, metric=faiss.METRIC_L2)  # [:, 0] is the row itself
    spread = float(np.sqrt(max(float(np.median(d2[:, 1])), 1e-8)))
    noise = rng.standard_normal(base.shape).astype(np.float32) * (spread / math.sqrt(base.shape[1]))
    return np.ascontiguousarray(base + noise, dtype=np.float32)


def calibrate_nprobe(
    faiss: Any,
    ivf: Any,
    vectors: np.ndarray,
    ids: np.ndarray,
    target: float,
    seed: int = 0,
) -> Calibration:
    """The smallest ladder nprobe whose recall@10 against exact search reaches ``target``."""
    queries = calibration_queries(faiss, vectors, CALIBRATION_QUERIES, seed)
    k = min(CALIBRATION_K, len(vectors))
    _, rows = faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
    exact = ids[rows]
    ladder = [p for p in NPROBE_LADDER if p < ivf.nlist] + [int(ivf.nlist)]
    recall = 0.0
    for nprobe in ladder:
        _, got = ivf.search(queries, k, params=faiss.SearchParametersIVF(nprobe=nprobe))
        recall = recall_at_k(got, exact)
        if recall >= target:
            return Calibration(nprobe, recall)
    return Calibration(ladder[-1], recall)  # nprobe = nlist scans every list: exact
