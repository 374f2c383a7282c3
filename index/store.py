"""Vector stores: inner-product search over L2-normalised chunk vectors (exact, or IVF at scale).

Two backends behind one protocol, chosen by name from ``VECTOR_STORES``:

* ``faiss`` (default): an in-memory ``IndexIDMap2(IndexFlatIP)``; exact search is cheap while the
  corpus is small, and it avoids the recall loss and training step of approximate indexes. From
  ``ivf_threshold`` vectors on (200,000 by default) one exact scan costs tens of milliseconds, so the
  store switches itself to an ``IndexIVFFlat`` (see ``FaissStore`` and ``index.ann``).
  ``save(dir)`` writes ``dir/vectors.faiss``.
* ``milvus``: a real Milvus Lite database (optional extra ``milvus``), for people who want to grow into
  a Milvus server later. See ``MilvusLiteStore`` for how its self-persisting file fits the caller's
  build-in-a-new-directory-then-swap scheme.

Ids are int64 chunk row ids. ``search`` returns ``(scores, ids)`` of shape ``(n_queries, k)``, best
first; where fewer than ``k`` vectors exist the row is padded with id ``-1`` and score ``PAD_SCORE``.
Adding an id that is already present replaces its vector (both backends upsert), so re-indexing a
changed chunk never leaves a stale duplicate behind.

``vector_index(store)`` says which kind of index a store holds (``{"kind": "flat"}``, or ``"ivf"``
with ``nlist`` and ``nprobe``); the build records it in the manifest and ``load_vector_store`` given
that record refuses a file of another kind, which can only come from mixing two builds' files.
"""

from __future__ import annotations

import inspect
import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from index.errors import ConfigError, IndexMismatchError, NotFoundError
from index.lexical import NO_TERMS
from index.storage import write_atomic, writing

PAD_SCORE = float(-np.finfo(np.float32).max)  # what faiss itself reports for missing neighbours


@runtime_checkable
class VectorStore(Protocol):
    """An id -> vector map with top-k inner-product search (exact, or approximate at scale)."""

    dim: int

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def __len__(self) -> int: ...

    def save(self, directory: Path) -> None: ...

    def close(self) -> None: ...


def _ids(ids: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


def _matrix(vectors: np.ndarray, dim: int) -> np.ndarray:
    m = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if m.ndim == 1:
        m = m.reshape(1, -1)
    if m.ndim != 2 or m.shape[1] != dim:
        raise ValueError(f"expected vectors of dimension {dim}, got shape {m.shape}")
    return m


def _check_add(ids: np.ndarray, vecs: np.ndarray) -> None:
    if len(ids) != len(vecs):
        raise ValueError(f"{len(ids)} ids but {len(vecs)} vectors")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("duplicate ids in one add() call")
    if (ids < 0).any():
        raise ValueError("ids must be non-negative (-1 is the padding id)")


def _empty_result(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((n, k), PAD_SCORE, dtype=np.float32), np.full((n, k), -1, dtype=np.int64)


class FaissStore:
    """Faiss in memory, written as one file: exact below ``ivf_threshold`` vectors, IVF from there on.

    The switch happens inside ``add()``, the first time the store reaches the threshold: the vectors
    held so far and the new ones are clustered into an ``IndexIVFFlat`` (``index.ann``) and its
    ``nprobe`` is calibrated on them to reach ``target_recall`` (recall@10 against exact search),
    unless ``nprobe`` is given. ``parts`` (widths) says the vectors are parts side by side that are
    also searched alone (a paired embedder's, see ``index.embed.segments``): nprobe must then reach
    the target for such queries too. An IVF store stays IVF when vectors are removed again: a later build
    makes a new store, flat again if the corpus shrank. ``ivf_threshold=None`` keeps it exact always.
    Search with ``k`` at least the store's size (a filtered search asks for every vector) scans every
    list, so it returns what exact search would.
    """

    FILENAME = "vectors.faiss"
    IVF_THRESHOLD = 200_000
    TARGET_RECALL = 0.98

    def __init__(
        self,
        dim: int,
        directory: Path | None = None,
        *,
        ivf_threshold: int | None = IVF_THRESHOLD,
        nprobe: int | None = None,
        target_recall: float = TARGET_RECALL,
        parts: Sequence[int] = (),
        seed: int = 0,
    ) -> None:
        import faiss  # loaded at construction, keeping `import index.store` light

        if ivf_threshold is not None and ivf_threshold < 1:
            raise ConfigError(
                f"ivf_threshold must be at least 1 (or None for exact search), not {ivf_threshold}"
            )
        if nprobe is not None and nprobe < 1:
            raise ConfigError(f"nprobe must be at least 1, not {nprobe}")
        self._faiss = faiss
        self.dim = int(dim)
        self._index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        self._ivf_threshold = ivf_threshold
        self._nprobe = nprobe
        self._target_recall = float(target_recall)
        self._parts = tuple(int(w) for w in parts)
        if self._parts and sum(self._parts) != self.dim:
            raise ConfigError(f"parts {list(self._parts)} do not add up to the dimension {self.dim}")
        self._seed = seed
        self._built: dict[str, Any] = {}  # how the IVF was made, known only to the process that made it
        # `directory` is accepted for symmetry with MilvusLiteStore: faiss only touches disk in save().

    @classmethod
    def load(cls, dim: int, directory: Path) -> FaissStore:
        import faiss

        path = Path(directory) / cls.FILENAME
        if not path.is_file():
            raise NotFoundError(f"no faiss index at {path}; build the index first")
        store = cls(dim)
        index = faiss.read_index(str(path))
        if index.d != store.dim:
            raise IndexMismatchError(f"{path} holds {index.d}-dimensional vectors, expected {store.dim}")
        flat = isinstance(index, faiss.IndexIDMap2) and isinstance(
            faiss.downcast_index(index.index), faiss.IndexFlatIP
        )
        ivf = isinstance(index, faiss.IndexIVFFlat) and index.metric_type == faiss.METRIC_INNER_PRODUCT
        if not (flat or ivf):
            raise IndexMismatchError(
                f"{path} holds a {type(index).__name__}, not an inner-product flat or IVF index this "
                "version reads; rebuild the index with `rag index --rebuild`"
            )
        store._index = index
        return store

    @property
    def _is_ivf(self) -> bool:
        return isinstance(self._index, self._faiss.IndexIVF)

    @property
    def vector_index(self) -> dict[str, Any]:
        """The kind of index held, for the manifest: ``{"kind": "flat"}`` or IVF with its knobs."""
        if not self._is_ivf:
            return {"kind": "flat"}
        return {
            "kind": "ivf",
            "nlist": int(self._index.nlist),
            "nprobe": int(self._index.nprobe),
        } | self._built

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vecs = _ids(ids), _matrix(vectors, self.dim)
        _check_add(ids, vecs)
        if len(ids) == 0:
            return
        self.remove(ids)  # upsert: IndexIDMap2 would otherwise keep both the old and the new vector
        threshold = self._ivf_threshold
        if not self._is_ivf and threshold is not None and len(self) + len(ids) >= threshold:
            self._switch_to_ivf(ids, vecs)
        else:
            self._index.add_with_ids(vecs, ids)

    def _switch_to_ivf(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        from index.ann import TRAIN_PER_LIST, build_ivf, calibrate_nprobe, ivf_nlist

        if self._index.ntotal:
            held = self._index.index.reconstruct_n(0, self._index.ntotal)
            ids = np.concatenate([self._faiss.vector_to_array(self._index.id_map).astype(np.int64), ids])
            vecs = np.ascontiguousarray(np.vstack([held, vecs]))
        nlist = ivf_nlist(len(ids))
        ivf = build_ivf(self._faiss, vecs, ids, nlist, self._seed)
        if self._nprobe is not None:
            ivf.nprobe = min(self._nprobe, nlist)
            self._built = {"trained_on": min(len(ids), nlist * TRAIN_PER_LIST)}
        else:
            cal = calibrate_nprobe(self._faiss, ivf, vecs, ids, self._target_recall, self._seed, self._parts)
            ivf.nprobe = cal.nprobe
            self._built = {"calibrated_recall_at_10": round(cal.recall_at_10, 4)}
        self._index = ivf

    def remove(self, ids: np.ndarray) -> None:
        ids = _ids(ids)
        if len(ids) and self._index.ntotal:
            # IDMap2 and IVF both remove by our ids; IVF scans its lists, a few ms per million vectors
            self._index.remove_ids(self._faiss.IDSelectorBatch(ids))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = _matrix(queries, self.dim)
        if k <= 0 or len(q) == 0:
            return _empty_result(len(q), max(k, 0))
        if self._index.ntotal == 0:
            return _empty_result(len(q), k)
        if self._is_ivf and k >= self._index.ntotal:
            # asked for everything (a filtered search): probing every list makes IVF exact
            params = self._faiss.SearchParametersIVF()
            params.nprobe = int(self._index.nlist)
            scores, ids = self._index.search(q, k, params=params)
        else:
            scores, ids = self._index.search(q, k)
        return scores.astype(np.float32, copy=False), ids.astype(np.int64, copy=False)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        # serialised here and written by Python, not by faiss.write_index: faiss reports a full or
        # read-only disk as a RuntimeError with C++ text, Python as an OSError with its errno and path
        data = self._faiss.serialize_index(self._index)
        path = directory / self.FILENAME
        with writing(path), path.open("wb") as f:  # a failed write() names no file: this one is named
            f.write(data.tobytes())

    def close(self) -> None:
        """Nothing to release (the index is plain memory); present so callers can close any store."""


# what a Milvus collection holds beside each chunk's vector, so that a deployment on a Milvus cluster
# finds there everything retrieval and citations need: both BM25 fields as sparse vectors (see
# ``index.lexical.sparse_documents``), the chunk's document, source, date, character offsets and
# text (filters are Milvus expressions over these: ``milvus_filter``)
SPARSE_FIELDS = {"text": "text_bm25", "gloss": "gloss_bm25"}
ROW_FIELDS = ("doc", "source", "date", "start", "stop", "text")
_VARCHAR = {"doc": 4096, "source": 1024, "date": 64, "text": 65535}
# Milvus's most results of one search (its ``topk`` limit)
MILVUS_MAX_K = 16384


def _fit_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (Milvus's VARCHAR measures bytes)."""
    raw = text.encode("utf-8")
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", errors="ignore")


class MilvusCollection:
    """What both Milvus stores do with their collection (``self.collection`` on ``self._client``):
    one row per chunk id, searched by inner product: the dense vector, or one of the two BM25 fields
    (``search_sparse``), optionally restricted by a filter expression."""

    dim: int
    collection: str
    _client: Any

    def _create_collection(self) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        for name in SPARSE_FIELDS.values():
            schema.add_field(name, DataType.SPARSE_FLOAT_VECTOR)
        for name in ROW_FIELDS:
            if name in _VARCHAR:
                schema.add_field(name, DataType.VARCHAR, max_length=_VARCHAR[name])
            else:
                schema.add_field(name, DataType.INT64)
        params = self._client.prepare_index_params()
        params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        for name in SPARSE_FIELDS.values():
            params.add_index(field_name=name, index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        self._client.create_collection(self.collection, schema=schema, index_params=params)

    def add(
        self, ids: np.ndarray, vectors: np.ndarray, rows: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        """Upsert vectors; ``rows`` (one per id) give each chunk's BM25 fields and its row
        (``SPARSE_FIELDS`` and ``ROW_FIELDS`` keys): without them a chunk has empty ones."""
        ids, vecs = _ids(ids), _matrix(vectors, self.dim)
        _check_add(ids, vecs)
        if rows is not None and len(rows) != len(ids):
            raise ValueError(f"{len(rows)} rows for {len(ids)} vectors")
        empty: dict[str, Any] = {"doc": "", "source": "", "date": "", "start": 0, "stop": 0, "text": ""}
        out = []
        for j, (i, v) in enumerate(zip(ids, vecs, strict=True)):
            extra = rows[j] if rows is not None else {}
            row: dict[str, Any] = {"id": int(i), "vector": v.tolist()}
            for name in SPARSE_FIELDS.values():
                row[name] = extra.get(name) or {NO_TERMS: 1.0}  # a sparse vector is never empty
            for f in ROW_FIELDS:
                value = extra.get(f, empty[f])
                row[f] = _fit_bytes(value or "", _VARCHAR[f]) if f in _VARCHAR else int(value or 0)
            out.append(row)
        for start in range(0, len(out), 1000):
            self._client.upsert(self.collection, out[start : start + 1000])

    def remove(self, ids: np.ndarray) -> None:
        ids = _ids(ids)
        if len(ids):
            self._client.delete(self.collection, ids=[int(i) for i in ids])

    def search(self, queries: np.ndarray, k: int, where: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = _matrix(queries, self.dim)
        scores, out_ids = _empty_result(len(q), max(k, 0))
        if k <= 0 or len(q) == 0 or len(self) == 0:
            return scores, out_ids
        res = self._client.search(
            self.collection,
            data=[row.tolist() for row in q],
            anns_field="vector",
            limit=min(k, MILVUS_MAX_K),
            output_fields=["id"],
            search_params={"metric_type": "IP"},
            filter=where or "",
        )
        for r, hits in enumerate(res):
            for c, hit in enumerate(list(hits)[:k]):
                out_ids[r, c] = int(hit["id"])
                scores[r, c] = float(hit["distance"])
        return scores, out_ids

    def search_sparse(
        self, field: str, query: Mapping[int, float], k: int, where: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best chunks by one BM25 field (``"text"`` or ``"gloss"``): ids and scores
        (the inner products with ``query``, a vector of ``index.lexical.sparse_query``), best
        first; only chunks sharing a term with the query."""
        if field not in SPARSE_FIELDS:
            raise ValueError(f"unknown BM25 field {field!r}; choose one of {sorted(SPARSE_FIELDS)}")
        if not query or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        res = self._client.search(
            self.collection,
            data=[{int(t): float(w) for t, w in query.items()}],
            anns_field=SPARSE_FIELDS[field],
            limit=min(k, MILVUS_MAX_K),
            output_fields=["id"],
            search_params={"metric_type": "IP"},
            filter=where or "",
        )
        hits = list(res[0]) if res else []
        return (
            np.fromiter((int(h["id"]) for h in hits), np.int64, len(hits)),
            np.fromiter((float(h["distance"]) for h in hits), np.float32, len(hits)),
        )

    def rows(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The chunk rows stored with these ids (document, source, date, offsets, text): what a
        citation needs, read from Milvus itself."""
        if not len(ids):
            return {}
        res = self._client.query(
            self.collection, ids=[int(i) for i in ids], output_fields=["id", *ROW_FIELDS]
        )
        return {int(r["id"]): {f: r[f] for f in ROW_FIELDS} for r in res}

    def has_bm25(self) -> bool:
        """Whether the collection has the BM25 fields (one built before them has only vectors)."""
        fields = {f["name"] for f in self._client.describe_collection(self.collection)["fields"]}
        return set(SPARSE_FIELDS.values()) <= fields

    def __len__(self) -> int:
        res = self._client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(res[0]["count(*)"])


def milvus_filter(
    sources: Sequence[str] = (),
    docs: Sequence[str] = (),
    date_from: str | None = None,
    date_to: str | None = None,
) -> str:
    """A Milvus boolean expression with ``rag.types.Filters``'s meaning: ``date`` strings compare as
    ISO prefixes (a chunk's "2026-02-03 14:56" is within a ``date_to`` of "2026-02-03")."""
    parts = []
    if sources:
        parts.append(f"source in {json.dumps(list(sources), ensure_ascii=False)}")
    if docs:
        parts.append(f"doc in {json.dumps(list(docs), ensure_ascii=False)}")
    if date_from or date_to:
        parts.append('date != ""')
    if date_from:
        parts.append(f"date >= {json.dumps(date_from[:10])}")
    if date_to:
        parts.append(f"date <= {json.dumps(date_to[:10] + '~')}")  # "~" sorts after " 14:56"
    return " and ".join(parts)


class MilvusLiteStore(MilvusCollection):
    """Milvus Lite (an embedded Milvus in one local file), metric IP over a FLAT index.

    Milvus Lite persists by itself into ``<directory>/milvus.db``, so the database always lives inside
    a store directory:

    * ``MilvusLiteStore(dim, directory)`` opens (or creates) ``directory/milvus.db`` directly; this is
      what a build into a fresh staging directory should do, and ``save(directory)`` on the same
      directory then only flushes.
    * Without a directory the store works in a private temporary directory (removed on ``close()``).
    * ``save(other)`` for a different directory flushes, closes the client (so the file is consistent
      and no server holds it), copies the database file(s) into ``other``, then reopens the original.

    The caller's atomic directory swap therefore works unchanged: it only ever renames whole
    directories, each of which holds a self-contained ``milvus.db``.
    """

    FILENAME = "milvus.db"
    COLLECTION = "chunks"
    collection = COLLECTION

    def __init__(self, dim: int, directory: Path | None = None, *, _keep: bool = False) -> None:
        try:
            from pymilvus import MilvusClient
        except ImportError as e:  # pragma: no cover - depends on the optional extra
            raise ConfigError(
                "the milvus vector store needs the optional extra: pip install 'pymilvus[milvus_lite]'"
            ) from e
        self._client_cls = MilvusClient
        self.dim = int(dim)
        self._tmp: str | None = None
        if directory is None:
            self._tmp = tempfile.mkdtemp(prefix="rag-milvus-")
            directory = Path(self._tmp)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._client: Any
        self._open()
        if not _keep and self._client.has_collection(self.collection):
            # A new store is empty, even if a previous build left a database in this directory.
            self._client.drop_collection(self.collection)
            self._create_collection()
            self._client.load_collection(self.collection)

    @property
    def uri(self) -> str:
        return str(self.directory / self.FILENAME)

    def _open(self) -> None:
        self._client = self._client_cls(uri=self.uri)
        if not self._client.has_collection(self.collection):
            self._create_collection()
        self._client.load_collection(self.collection)

    @classmethod
    def load(cls, dim: int, directory: Path) -> MilvusLiteStore:
        path = Path(directory) / cls.FILENAME
        if not path.exists():
            raise NotFoundError(f"no Milvus Lite database at {path}; build the index first")
        store = cls(dim, directory, _keep=True)
        stored = store._stored_dim()
        if stored != store.dim:
            store.close()
            raise IndexMismatchError(f"{path} holds {stored}-dimensional vectors, expected {dim}")
        return store

    @property
    def vector_index(self) -> dict[str, Any]:
        """Always exact: the collection is created with a FLAT index."""
        return {"kind": "flat"}

    def _stored_dim(self) -> int:
        info = self._client.describe_collection(self.collection)
        for field in info["fields"]:
            if field["name"] == "vector":
                return int(field["params"]["dim"])
        return -1

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        self._client.flush(self.collection)
        if directory.resolve() == self.directory.resolve():
            return
        directory.mkdir(parents=True, exist_ok=True)
        self._shutdown()  # the database must be closed for its files to be a consistent copy
        try:
            for src in self.directory.iterdir():
                if src.name.startswith(self.FILENAME):
                    dst = directory / src.name
                    if src.is_dir():
                        shutil.copytree(src, dst, dirs_exist_ok=True)
                    else:
                        shutil.copy2(src, dst)
        finally:
            self._open()

    def _shutdown(self) -> None:
        """Close the client *and* the embedded server.

        ``MilvusClient.close()`` alone leaves Milvus Lite's in-process server running with a lock on
        the database directory, so after the caller renames the directory the same process could not
        open it again. Releasing the server closes the database and drops the lock. Consequence: keep
        at most one open store per database directory per process.
        """
        if self._client is not None:
            self._client.close()
            self._client = None
        try:
            from milvus_lite.server_manager import server_manager_instance
        except ImportError:  # pragma: no cover - a remote Milvus has no local server to release
            return
        release = getattr(server_manager_instance, "release_server", None)
        if release is not None:
            release(self.uri)

    def close(self) -> None:
        """Release the database; the store is unusable afterwards. Safe to call twice."""
        self._shutdown()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


class MilvusServerStore(MilvusCollection):
    """Vectors in a Milvus server (``RAG_MILVUS_URI``: Milvus Standalone or Distributed, or Milvus
    Lite's gRPC server), one collection per index generation, FLAT/IP like the local stores.

    The generation's ``vectors/`` directory holds only ``milvus.json`` naming the server and the
    collection, so the index directory's atomic swap and crash guarantees work as for FAISS: a
    generation that never became live is discarded together with its collection, and pruning a
    generation drops its collection (``discard``).
    """

    FILENAME = "milvus.json"

    def __init__(
        self, dim: int, directory: Path | None = None, *, uri: str, collection: str | None = None
    ) -> None:
        try:
            from pymilvus import MilvusClient
        except ImportError as e:  # pragma: no cover - depends on the optional extra
            raise ConfigError("the milvus vector store needs the optional extra: pip install pymilvus") from e
        import uuid

        self.dim = int(dim)
        self.uri = uri
        self._client: Any = MilvusClient(uri=uri)
        self.collection = collection or f"rag_{uuid.uuid4().hex}"
        if collection is None:
            self._create_collection()
        self._client.load_collection(self.collection)

    @classmethod
    def load(cls, dim: int, directory: Path) -> MilvusServerStore:
        path = Path(directory) / cls.FILENAME
        if not path.is_file():
            raise NotFoundError(f"no Milvus collection recorded at {path}; build the index first")
        ref = json.loads(path.read_text(encoding="utf-8"))
        store = cls(dim, uri=ref["uri"], collection=ref["collection"])
        if not store._client.has_collection(store.collection):
            raise NotFoundError(f"the Milvus server at {ref['uri']} has no collection {ref['collection']!r}")
        return store

    @property
    def vector_index(self) -> dict[str, Any]:
        return {"kind": "flat"}

    def save(self, directory: Path) -> None:
        self._client.flush(self.collection)
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        ref = {"uri": self.uri, "collection": self.collection}
        write_atomic(directory / self.FILENAME, json.dumps(ref))

    def discard(self) -> None:
        """Drop the collection: its generation was pruned or never became live."""
        if self._client.has_collection(self.collection):
            self._client.drop_collection(self.collection)

    def close(self) -> None:
        self._client.close()


def discard_saved(directory: Path) -> None:
    """Drop the server-side data a saved store in ``directory`` refers to (nothing for local stores)."""
    ref = Path(directory) / MilvusServerStore.FILENAME
    if not ref.is_file():
        return
    data = json.loads(ref.read_text(encoding="utf-8"))
    store = MilvusServerStore(0, uri=data["uri"], collection=data["collection"])
    try:
        store.discard()
    finally:
        store.close()


class StoreFactory(Protocol):
    """A store class: calling it makes an empty store, ``load`` opens a saved one."""

    def __call__(self, dim: int, directory: Path | None = None) -> VectorStore: ...

    def load(self, dim: int, directory: Path) -> VectorStore: ...


class _Milvus:
    """The ``milvus`` store: a server when given ``uri`` (``RAG_MILVUS_URI``), else Milvus Lite in a file."""

    def __call__(self, dim: int, directory: Path | None = None, *, uri: str | None = None) -> VectorStore:
        return MilvusServerStore(dim, directory, uri=uri) if uri else MilvusLiteStore(dim, directory)

    def load(self, dim: int, directory: Path) -> VectorStore:
        if (Path(directory) / MilvusServerStore.FILENAME).is_file():
            return MilvusServerStore.load(dim, directory)
        return MilvusLiteStore.load(dim, directory)


VECTOR_STORES: dict[str, StoreFactory] = {
    "faiss": FaissStore,
    "milvus": _Milvus(),
}


def _lookup(name: str) -> StoreFactory:
    try:
        return VECTOR_STORES[name]
    except KeyError:
        raise ConfigError(
            f"unknown vector store {name!r}; choose one of: {', '.join(sorted(VECTOR_STORES))}"
        ) from None


def make_vector_store(
    name: str, dim: int, directory: Path | None = None, options: Mapping[str, Any] | None = None
) -> VectorStore:
    """A new, empty store. Give ``directory`` (the staging directory of a build) so Milvus writes there;
    ``options`` are the backend's own keyword arguments (faiss: ``ivf_threshold``, ``nprobe``)."""
    factory: Any = _lookup(name)
    options = dict(options or {})
    try:
        inspect.signature(factory).bind(dim, directory, **options)
    except TypeError as e:
        raise ConfigError(
            f"the {name} vector store does not take the options {sorted(options)}: {e}"
        ) from None
    return factory(dim, directory, **options)


# the entries that identify an index's structure; others (how it was calibrated) are only reported
_KIND_KEYS = ("kind", "nlist", "nprobe")


def vector_index(store: VectorStore) -> dict[str, Any]:
    """Which kind of index ``store`` holds; a backend that does not say is exact."""
    return dict(getattr(store, "vector_index", None) or {"kind": "flat"})


def load_vector_store(
    name: str, dim: int, directory: Path, expected: Mapping[str, Any] | None = None
) -> VectorStore:
    """Open the store saved in ``directory``; raises NotFoundError if nothing was saved there.

    ``expected`` is the manifest's ``vector_index`` record: a saved index of another kind (or other
    IVF lists) is refused with ``IndexMismatchError``, since it was not written by the build that wrote
    the manifest. Without a record (an index built before it was kept) nothing is compared."""
    store = _lookup(name).load(dim, directory)
    if expected is not None:
        found = vector_index(store)
        want = {k: expected.get(k) for k in _KIND_KEYS if k in expected or k in found}
        got = {k: found.get(k) for k in want}
        if got != want:
            store.close()
            raise IndexMismatchError(
                f"the vector index in {directory} is {_describe(got)}, but the manifest beside it records "
                f"{_describe(want)}: its files come from different builds. Rebuild it with "
                "`rag index --rebuild`."
            )
    return store


def _describe(info: Mapping[str, Any]) -> str:
    extra = ", ".join(f"{k}={info[k]}" for k in _KIND_KEYS[1:] if info.get(k) is not None)
    return f"{info.get('kind')!r}" + (f" ({extra})" if extra else "")
