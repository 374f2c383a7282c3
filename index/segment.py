"""Segments: an index generation as a list of immutable parts plus the documents each one dropped.

A full build writes one segment (the generation directory itself). A small update writes only a new
segment with the added or changed documents, and a manifest that lists the earlier segments with
deletion markers (the documents since removed or replaced). So an upload costs what the upload
contains, not what the index contains, the way Lucene and Milvus add segments; a later full build
(``rag index --merge``, or the merge policy in ``index.build``) folds the segments into one again.

Reading composes the segments: chunk ids are the segments' own ids shifted by the chunks before
them; a dead chunk (its document removed from that segment) is never returned by the vector search
and scores zero on the lexical side; BM25 scores are rescaled to the whole index's IDF, so a term
that is rare in the index counts as rare inside a ten-chunk segment too (Lucene's collection
statistics). Length normalisation stays per segment, which a merge makes exact again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.lexical import LexicalIndex
from index.store import VectorStore


@dataclass(frozen=True)
class SegmentRef:
    """One segment as a manifest lists it: its directory (a generation's name), size and deletions."""

    name: str
    chunks: int
    removed: frozenset[str] = field(default_factory=frozenset)
    dead: int = 0  # chunks of the removed documents: what a merge would reclaim

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "chunks": self.chunks, "removed": sorted(self.removed), "dead": self.dead}


def manifest_segments(manifest: Mapping[str, Any], generation: str) -> list[SegmentRef]:
    """The segments a generation's manifest lists; a manifest without the key is one segment, itself
    (every full build, and indexes written before segments existed)."""
    listed = manifest.get("segments")
    if not listed:
        return [SegmentRef(generation, int(manifest.get("chunks", 0)))]
    return [
        SegmentRef(s["name"], int(s["chunks"]), frozenset(s.get("removed", ())), int(s.get("dead", 0)))
        for s in listed
    ]


class SegmentedStore:
    """The vector stores of several segments searched as one, ids shifted, dead chunks skipped."""

    def __init__(self, stores: Sequence[VectorStore], offsets: Sequence[int], live: np.ndarray) -> None:
        self._stores = list(stores)
        self._offsets = [int(o) for o in offsets]
        self._live = live
        self._dead = [
            int((~live[o : o + len(s)]).sum()) for s, o in zip(self._stores, self._offsets, strict=True)
        ]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        nq = len(queries)
        if k <= 0 or nq == 0:
            return np.zeros((nq, max(k, 0)), np.float32), np.full((nq, max(k, 0)), -1, np.int64)
        all_s, all_i = [], []
        for store, off, dead in zip(self._stores, self._offsets, self._dead, strict=True):
            s, i = self._search_one(store, off, dead, queries, k)
            all_s.append(s)
            all_i.append(i)
        if not all_s:
            return np.zeros((nq, k), np.float32), np.full((nq, k), -1, np.int64)
        s = np.concatenate(all_s, axis=1)
        i = np.concatenate(all_i, axis=1)
        if s.shape[1] < k:
            pad = k - s.shape[1]
            s = np.pad(s, ((0, 0), (0, pad)), constant_values=-np.inf)
            i = np.pad(i, ((0, 0), (0, pad)), constant_values=-1)
        order = np.argsort(-s, axis=1, kind="stable")[:, :k]
        s = np.take_along_axis(s, order, axis=1)
        i = np.take_along_axis(i, order, axis=1)
        i = np.where(np.isfinite(s), i, -1)
        s = np.where(np.isfinite(s), s, 0.0)
        return s.astype(np.float32), i.astype(np.int64)

    def _search_one(
        self, store: VectorStore, off: int, dead: int, queries: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """One segment's top ``k`` live hits (global ids; -inf/-1 where fewer). Dead hits are dropped
        after the search, so it asks for more than ``k`` and widens until ``k`` live ones are found."""
        n = len(store)
        if n == 0:
            return np.full((len(queries), 0), -np.inf, np.float32), np.full((len(queries), 0), -1, np.int64)
        fetch = min(n, k + min(dead, k))
        while True:
            s, i = store.search(queries, fetch)
            gi = np.where(i >= 0, i + off, -1)
            ok = gi >= 0
            ok[ok] = self._live[gi[ok]]
            if fetch >= n or dead == 0 or int(ok.sum(axis=1).min()) >= k:
                return np.where(ok, s, -np.inf), np.where(ok, gi, -1)
            fetch = min(n, fetch * 4)

    def __len__(self) -> int:
        return int(self._live.sum())

    def close(self) -> None:
        """The segments' stores are shared with other snapshots; their owner closes them."""


def _lucene_idf(n: int, df: int) -> float:
    # bm25s's default ("lucene") IDF, the one the per-segment scores were built with
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


class SegmentedLexical:
    """BM25 over several segments' indexes, rescaled to the whole index's IDF, dead chunks zeroed."""

    def __init__(self, parts: Sequence[LexicalIndex | SegmentedLexical], live: np.ndarray | None) -> None:
        self._parts = list(parts)
        self._live = live  # None: every chunk live (the shards of one segment)
        self.n: int = sum(int(p.n) for p in self._parts)

    def df(self, field: str, term: str) -> int:
        return sum(p.df(field, term) for p in self._parts)

    def vocabulary(self, field: str) -> Iterator[str]:
        """Every term of ``field`` once (a term may sit in several parts)."""
        seen: set[str] = set()
        for p in self._parts:
            for t in p.vocabulary(field):
                if t not in seen:
                    seen.add(t)
                    yield t

    def scores(self, field: str, terms: Mapping[str, float]) -> np.ndarray:
        if not terms:
            return np.zeros(self.n, dtype=np.float32)
        dfs = [{t: p.df(field, t) for t in terms} for p in self._parts]
        idf = {t: _lucene_idf(self.n, sum(d[t] for d in dfs)) for t in terms}  # the whole index's
        out = []
        for p, df in zip(self._parts, dfs, strict=True):
            scaled: dict[str, float] = {}
            for t, w in terms.items():
                if df[t] == 0 or w <= 0:
                    continue
                scaled[t] = w * idf[t] / _lucene_idf(p.n, df[t])
            out.append(p.scores(field, scaled) if scaled else np.zeros(p.n, dtype=np.float32))
        sc = np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
        if self._live is None:
            return sc
        return np.where(self._live, sc, 0.0).astype(np.float32)


class UnionIndex(Mapping[str, tuple[str, ...]]):
    """Several segments' word indexes (key -> words) read as one: a key's words from every segment,
    each once. Built per segment, so an upload indexes its own vocabulary, not the whole index's."""

    def __init__(self, parts: Sequence[Mapping[str, tuple[str, ...]]]) -> None:
        self._parts = list(parts)

    def __getitem__(self, key: str) -> tuple[str, ...]:
        found = [p[key] for p in self._parts if key in p]
        if not found:
            raise KeyError(key)
        return tuple(dict.fromkeys(w for words in found for w in words))

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return any(key in p for p in self._parts)

    def __bool__(self) -> bool:
        return any(self._parts)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k for p in self._parts for k in p))

    def __len__(self) -> int:
        return sum(1 for _ in self)
