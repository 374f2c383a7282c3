"""A persistent embedding cache keyed by (model id, content hash).

Embedding is the slowest step of indexing (the bundled model does ~2 passages/s here), so a text whose
content hash was embedded before with the same model is never embedded again, even when it is indexed
into a different index directory: the cache lives in ``Settings.cache_dir``, shared by all indexes
(the approach of simonw/llm's ``embeddings`` table). Keying on the model id keeps vectors of different
models (or dimensions) apart.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import numpy as np

from index.embed import Embedder
from index.storage import writing

# SQLite caps the number of host parameters per statement; stay well below every version's limit.
_CHUNK = 500


class EmbeddingCache:
    """SQLite store of float32 vectors; WAL mode so readers never block on an indexing writer."""

    def __init__(self, path: Path, model_id: str, dim: int) -> None:
        path = Path(path)
        self.path, self.model_id, self.dim = path, model_id, dim
        with writing(path):  # a read-only or full cache directory: a StorageError naming the file
            path.parent.mkdir(parents=True, exist_ok=True)
            # One connection per instance; a busy timeout lets concurrent processes wait for the writer.
            self._db = sqlite3.connect(str(path), timeout=30.0)
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS embeddings ("
                    " model_id TEXT NOT NULL, content_hash TEXT NOT NULL, dim INTEGER NOT NULL,"
                    " vector BLOB NOT NULL, PRIMARY KEY (model_id, content_hash))"
                )
                self._db.commit()
            except BaseException:
                self._db.close()
                raise

    def get_many(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached vectors for the hashes that have one; misses are simply absent from the result."""
        out: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for i in range(0, len(unique), _CHUNK):
            part = unique[i : i + _CHUNK]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                f"SELECT content_hash, vector FROM embeddings"
                f" WHERE model_id = ? AND dim = ? AND content_hash IN ({marks})",
                [self.model_id, self.dim, *part],
            )
            for h, blob in rows:
                v = np.frombuffer(blob, dtype=np.float32)
                if v.shape == (self.dim,):
                    out[h] = v.copy()
        return out

    def put_many(self, items: Mapping[str, np.ndarray]) -> None:
        """Store vectors in one transaction (so a crash never leaves half a batch)."""
        rows = []
        for h, v in items.items():
            a = np.ascontiguousarray(v, dtype=np.float32).reshape(-1)
            if a.shape != (self.dim,):
                raise ValueError(f"vector for {h!r} has {a.size} dimensions, expected {self.dim}")
            rows.append((self.model_id, h, self.dim, a.tobytes()))
        with writing(self.path), self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings (model_id, content_hash, dim, vector) VALUES (?, ?, ?, ?)",
                rows,
            )

    def __len__(self) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM embeddings WHERE model_id = ?", (self.model_id,)
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def cached_hashes(embedder: Embedder, cache: EmbeddingCache, hashes: Sequence[str]) -> set[str]:
    """The hashes whose vectors the cache holds for this embedder (for a pair: for both parts)."""
    parts = getattr(embedder, "parts", None)
    if not parts:
        return set(cache.get_many(hashes))
    found: set[str] | None = None
    for part in parts:
        with EmbeddingCache(cache.path, part.model_id, part.dim) as pc:
            have = set(pc.get_many(hashes))
        found = have if found is None else found & have
    return found or set()


def embed_with_cache(
    embedder: Embedder,
    texts: Sequence[str],
    hashes: Sequence[str],
    cache: EmbeddingCache,
    batch_size: int = 16,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Vectors for ``texts`` in input order, embedding only cache misses.

    Each batch is written to the cache as soon as it is embedded, so an interrupted indexing run
    resumes where it stopped. ``progress`` receives the number of texts embedded in each batch
    (cache hits are reported once up front), so a progress bar over ``len(texts)`` reaches the end.
    """
    if len(texts) != len(hashes):
        raise ValueError(f"{len(texts)} texts but {len(hashes)} hashes")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    parts = getattr(embedder, "parts", None)
    if parts:
        # a paired embedder is cached part by part: vectors of either model embedded before (by an
        # index that used it alone) are reused, and nothing is stored twice
        per_part: list[np.ndarray] = []
        for i, part in enumerate(parts):
            with EmbeddingCache(cache.path, part.model_id, part.dim) as pc:
                tick = progress if i == 0 else None  # one bar: the first (slower) model reports
                per_part.append(embed_with_cache(part, texts, hashes, pc, batch_size, tick))
        return embedder._join(per_part)  # type: ignore[attr-defined,no-any-return]
    found = cache.get_many(hashes)
    # Embed each missing hash once, even if the same text appears several times.
    missing: dict[str, str] = {}
    for t, h in zip(texts, hashes, strict=True):
        if h not in found and h not in missing:
            missing[h] = t
    n_hits = len(texts) - sum(1 for h in hashes if h not in found)
    if progress is not None and n_hits:
        progress(n_hits)
    todo = list(missing.items())
    for i in range(0, len(todo), batch_size):
        batch = todo[i : i + batch_size]
        vecs = np.asarray(embedder.encode_documents([t for _, t in batch]), dtype=np.float32)
        new = {h: vecs[j] for j, (h, _) in enumerate(batch)}
        cache.put_many(new)
        found.update(new)
        if progress is not None:
            # Count duplicates of a batch's hashes too, so the total reported equals len(texts).
            done = {h for h, _ in batch}
            progress(sum(1 for h in hashes if h in done))
    if not texts:
        return np.zeros((0, cache.dim), dtype=np.float32)
    return np.stack([found[h] for h in hashes]).astype(np.float32, copy=False)


def use_cache_dir(cache_dir: Path) -> bool:
    """Make jieba and tiktoken keep their caches in ``cache_dir`` (``Settings.cache_dir``), not in /tmp.

    jieba writes its dictionary cache (``jieba.cache``) to the system's temporary directory and
    tiktoken copies its BPE file to ``$TMPDIR/data-gym-cache``: outside the data directory, so a
    container's volume misses them, a shared /tmp mixes users' files, and a tmp cleaner makes every
    start slow again. Both settings are process-wide by the libraries' design (jieba's default
    tokenizer, which ``jieba.posseg`` and ``index.normalize`` share; tiktoken's ``TIKTOKEN_CACHE_DIR``
    environment variable), so this is called once at start-up by ``rag`` and ``serve``, before any
    Chinese text is segmented; an operator's own ``TIKTOKEN_CACHE_DIR`` or ``DATA_GYM_CACHE_DIR``
    is kept. Nothing changes when the directory cannot be written (a read-only data directory): the
    libraries' defaults then survive a failed cache write, where tiktoken raises for a chosen one.
    Returns whether the caches were moved.
    """
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    if not os.access(cache_dir, os.W_OK):
        return False
    import jieba

    jieba.dt.tmp_dir = str(cache_dir)
    if "TIKTOKEN_CACHE_DIR" not in os.environ and "DATA_GYM_CACHE_DIR" not in os.environ:
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir / "tiktoken")
    return True
