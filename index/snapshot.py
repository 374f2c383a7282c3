"""A loaded, read-only index generation: what retrieval reads.

A snapshot never changes after loading. Updates build a new generation and load a new snapshot, so
readers holding the old one keep working until they finish; the segments both generations list
(``index.segment``) are shared, so an upload loads only its own.

What a snapshot keeps in memory is what every search touches: the vector store and the per-chunk
language flags. Chunk rows and document texts are read from the segment's SQLite file when asked
for (a few hundred per question, cached), and the BM25 indexes are memory-mapped: a million-chunk
index starts in seconds and its resident memory is mostly its vectors.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np

from index.build import (
    CHINESE_FLAGS,
    SEGMENT_FILE,
    check_manifest,
    current_generation,
    document_chinese,
    read_manifest,
    row_chunk,
)
from index.catalog import Catalog
from index.errors import NotFoundError
from index.lexical import DocumentFrequencies, LexicalIndex, RemoteLexical, load_lexical
from index.normalize import detect_lang
from index.segment import SegmentedLexical, SegmentedStore, manifest_segments
from index.storage import read_only_uri
from index.store import VectorStore, load_vector_store
from index.types import Chunk

CHUNK_CACHE = 20_000  # rows kept per segment: a question reads a few hundred
DOC_CACHE = 256


@dataclass
class DocRecord:
    doc: str
    text: str
    sha256: str
    articles: int
    titles: tuple[str, ...]
    chunks: int


class _Rows:
    """One read-only SQLite connection shared by the service's threads (a lock around each read)."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise NotFoundError(
                f"index segment file {path} is missing; rebuild the index with `rag index --rebuild`"
            )
        self.path = path
        self._db = sqlite3.connect(read_only_uri(path), uri=True, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()

    def one(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
            return row

    def all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, args))


_CHUNK_COLS = 'id, doc, article, title, source, date, section, start, "end", text, context'


class _Chunks(Sequence[Chunk]):
    """Chunks by position: ``_get`` reads one, given a position within ``len``."""

    def _get(self, i: int) -> Chunk:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...
    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        n = len(self)
        if isinstance(i, slice):
            return [self._get(j) for j in range(*i.indices(n))]
        i = int(i) + (n if int(i) < 0 else 0)
        if not 0 <= i < n:
            raise IndexError(i)
        return self._get(i)


class ChunkTable(_Chunks):
    """A segment's chunks by id, read from its SQLite file on demand and cached (LRU)."""

    def __init__(self, rows: _Rows, n: int) -> None:
        self._rows = rows
        self._n = n
        self._cache: OrderedDict[int, Chunk] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._n

    def _get(self, i: int) -> Chunk:
        with self._lock:
            c = self._cache.get(i)
            if c is not None:
                self._cache.move_to_end(i)
                return c
        r = self._rows.one(f"SELECT {_CHUNK_COLS} FROM chunks WHERE id = ?", (i,))
        if r is None:
            raise NotFoundError(f"index segment {self._rows.path} is damaged (no chunk {i}); rebuild it")
        c = row_chunk(r)
        with self._lock:
            self._cache[i] = c
            if len(self._cache) > CHUNK_CACHE:
                self._cache.popitem(last=False)
        return c

    def __iter__(self) -> Iterator[Chunk]:
        # a separate connection: a scan (a filtered search) must not hold the lock readers share
        db = sqlite3.connect(read_only_uri(self._rows.path), uri=True)
        db.row_factory = sqlite3.Row
        try:
            for r in db.execute(f"SELECT {_CHUNK_COLS} FROM chunks ORDER BY id"):
                yield row_chunk(r)
        finally:
            db.close()


class ChunkList(_Chunks):
    """Several segments' chunk tables as one sequence, ids shifted by the chunks before."""

    def __init__(self, parts: Sequence[Sequence[Chunk]]) -> None:
        self._parts = list(parts)
        self._offsets = np.cumsum([0] + [len(p) for p in self._parts]).tolist()

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def _get(self, i: int) -> Chunk:
        k = int(np.searchsorted(self._offsets, i, side="right")) - 1
        return self._parts[k][i - self._offsets[k]]

    def __iter__(self) -> Iterator[Chunk]:
        for p in self._parts:
            yield from p


class DocTable:
    """A segment's documents, texts read on demand (a million-chunk archive's texts stay on disk)."""

    def __init__(self, rows: _Rows) -> None:
        self._rows = rows
        self._cache: OrderedDict[str, DocRecord] = OrderedDict()
        self._lock = threading.Lock()

    def titles(self, doc: str) -> tuple[int, tuple[str, ...]]:
        """A document's article count and titles, without its text."""
        r = self._rows.one("SELECT articles, titles FROM documents WHERE doc = ?", (doc,))
        if r is None:
            raise KeyError(doc)
        return int(r["articles"]), tuple(json.loads(r["titles"]))

    def record(self, doc: str, chunks: int) -> DocRecord:
        with self._lock:
            rec = self._cache.get(doc)
            if rec is not None:
                self._cache.move_to_end(doc)
                return rec
        r = self._rows.one("SELECT doc, text, sha256, articles, titles FROM documents WHERE doc = ?", (doc,))
        if r is None:
            raise KeyError(doc)
        rec = DocRecord(
            r["doc"], r["text"], r["sha256"], r["articles"], tuple(json.loads(r["titles"])), chunks
        )
        with self._lock:
            self._cache[doc] = rec
            if len(self._cache) > DOC_CACHE:
                self._cache.popitem(last=False)
        return rec


@dataclass(frozen=True)
class DocSummary:
    """A document as a listing shows it: no text read."""

    doc: str
    chars: int
    sha256: str
    articles: int
    chunks: int
    titles: tuple[str, ...]
    origin: dict[str, str] | None


class LiveDocuments(Mapping[str, DocRecord]):
    """The documents a generation's catalog lists, each read from the segment holding it."""

    def __init__(self, catalog: Catalog, segments: Mapping[str, DocTable]) -> None:
        self._catalog = catalog
        self._segments = segments

    def __getitem__(self, doc: str) -> DocRecord:
        m = self._catalog[doc]
        return self._segments[str(m["segment"])].record(doc, int(m.get("chunks", 0)))

    def summary(self, doc: str) -> DocSummary:
        m = self._catalog[doc]
        articles, titles = self._segments[str(m["segment"])].titles(doc)
        return DocSummary(
            doc, int(m["chars"]), str(m["sha256"]), articles, int(m.get("chunks", 0)), titles, m.get("origin")
        )

    def __contains__(self, doc: object) -> bool:
        return doc in self._catalog

    def __iter__(self) -> Iterator[str]:
        return iter(self._catalog)

    def __len__(self) -> int:
        return len(self._catalog)


@dataclass
class Segment:
    """One segment as loaded: immutable, so consecutive snapshots share it (an upload loads only the
    new segment, not the whole index again)."""

    name: str
    chunks: Sequence[Chunk]
    store: VectorStore
    lexical: LexicalIndex | SegmentedLexical
    documents: DocTable
    chinese: np.ndarray
    rows: _Rows  # the segment's SQLite file, shared by its chunk and document tables

    @property
    def df_text(self) -> Mapping[str, int]:
        return DocumentFrequencies(self.lexical, "text")

    def close(self) -> None:
        """Release what must be released by hand (Milvus Lite's server). The SQLite connections are
        left to be collected with the last snapshot holding them: a reader that took the snapshot
        just before an update swapped it out may still be reading its rows."""
        close = getattr(self.store, "close", None)
        if callable(close):
            close()


@dataclass
class IndexSnapshot:
    generation: str
    manifest: dict
    chunks: Sequence[Chunk]  # position == id in the vector store and the lexical index
    store: VectorStore | SegmentedStore
    lexical: LexicalIndex | SegmentedLexical | RemoteLexical
    documents: LiveDocuments
    df_text: Mapping[
        str, int
    ]  # document frequency of each token over chunks (for IDF weighting of sentences)
    df_gloss: Mapping[str, int]
    # per chunk, True where its document is written in Chinese (``index.build.document_chinese``):
    # lexical scores are compared within one language
    chinese: np.ndarray
    segments: list[Segment] = field(default_factory=list)
    catalog: Catalog = field(default_factory=lambda: Catalog(None))
    # per chunk, False where its document was removed or replaced after its segment was written;
    # None when every chunk is live (one segment without deletions)
    live: np.ndarray | None = None

    @property
    def size(self) -> int:
        """Chunk positions, dead ones included (ids run to this)."""
        return len(self.chunks)

    @property
    def live_size(self) -> int:
        return self.size if self.live is None else int(self.live.sum())

    def document(self, doc: str) -> DocRecord:
        try:
            return self.documents[doc]
        except KeyError:
            raise NotFoundError(f"no document {doc!r} in the index") from None

    def summary(self, doc: str) -> DocSummary:
        """What a document listing shows, read without the document's text."""
        try:
            return self.documents.summary(doc)
        except KeyError:
            raise NotFoundError(f"no document {doc!r} in the index") from None

    def close(self, keep: IndexSnapshot | None = None) -> None:
        """Release the segments' stores, except those ``keep`` (the snapshot replacing this one) shares."""
        shared = {s.name for s in keep.segments} if keep is not None else set()
        for seg in self.segments:
            if seg.name not in shared:
                seg.close()


def load_snapshot(
    index_dir: Path, model_id: str, dim: int, reuse: IndexSnapshot | None = None
) -> IndexSnapshot:
    """Load the live generation; refuses an index built with another model (IndexMismatchError).

    ``reuse``: the snapshot loaded before; segments it holds are shared, not read again.
    """
    gen = current_generation(index_dir)
    if gen is None:
        raise NotFoundError(f"no index at {index_dir}; build one with `rag index PATH`")
    manifest = read_manifest(gen)
    check_manifest(manifest, model_id, dim, None, index_dir)
    refs = manifest_segments(manifest, gen.name)
    catalog = Catalog.of(gen, manifest)
    have = {seg.name: seg for seg in (reuse.segments if reuse is not None else [])}
    segs = [have.get(r.name) or _load_segment(index_dir / r.name, dim) for r in refs]
    documents = LiveDocuments(catalog, {seg.name: seg.documents for seg in segs})
    if len(segs) == 1 and not refs[0].removed:
        one = segs[0]
        return IndexSnapshot(
            gen.name,
            manifest,
            one.chunks,
            one.store,
            one.lexical,
            documents,
            one.df_text,
            DocumentFrequencies(one.lexical, "gloss"),
            one.chinese,
            segs,
            catalog,
        )
    live_parts = []
    for r, seg in zip(refs, segs, strict=True):
        live = np.ones(len(seg.chunks), bool)
        if r.removed:
            gone = sorted(r.removed)
            marks = ",".join("?" * len(gone))
            dead = [
                row["id"]
                for row in seg.rows.all(f"SELECT id FROM chunks WHERE doc IN ({marks})", tuple(gone))
            ]
            live[dead] = False
        live_parts.append(live)
    live = np.concatenate(live_parts) if live_parts else np.zeros(0, bool)
    offsets = np.cumsum([0] + [len(seg.chunks) for seg in segs[:-1]]).tolist()
    lexical = SegmentedLexical([seg.lexical for seg in segs], live)
    return IndexSnapshot(
        gen.name,
        manifest,
        ChunkList([seg.chunks for seg in segs]),
        SegmentedStore([seg.store for seg in segs], offsets, live),
        lexical,
        documents,
        DocumentFrequencies(lexical, "text"),
        DocumentFrequencies(lexical, "gloss"),
        np.concatenate([seg.chinese for seg in segs]) if segs else np.zeros(0, bool),
        segs,
        catalog,
        live,
    )


def _document_language(chinese: np.ndarray, rows: _Rows) -> np.ndarray:
    """Each chunk's document's language (``document_chinese``), for an index written when the flags
    were each chunk's own: computed once at load, from the chunks' lengths (a table scan)."""
    found = rows.all("SELECT doc, length(text) AS n FROM chunks ORDER BY id")
    if len(found) != len(chinese):
        return chinese
    per_doc: dict[str, tuple[list[bool], list[int]]] = {}
    for row, zh in zip(found, chinese, strict=True):
        flags, lengths = per_doc.setdefault(row["doc"], ([], []))
        flags.append(bool(zh))
        lengths.append(int(row["n"]))
    doc_zh = {d: document_chinese(f, n) for d, (f, n) in per_doc.items()}
    return np.fromiter((doc_zh[row["doc"]] for row in found), dtype=bool, count=len(chinese))


def _load_segment(seg_dir: Path, dim: int) -> Segment:
    small = seg_dir / SEGMENT_FILE
    own = json.loads(small.read_text(encoding="utf-8")) if small.is_file() else read_manifest(seg_dir)
    rows = _Rows(seg_dir / "chunks.sqlite")
    if "segment_chunks" in own:
        n = int(own["segment_chunks"])
    else:  # written before segments: its rows are its chunks
        n = int(rows.one("SELECT COUNT(*) AS n FROM chunks", ())["n"])  # type: ignore[index]
    table = ChunkTable(rows, n)
    flags = seg_dir / CHINESE_FLAGS
    stored = flags.is_file()
    if stored:
        chinese = np.load(flags)
    else:  # written before the flags were stored: computed once from the texts
        chinese = np.fromiter((detect_lang(c.text) == "zh" for c in table), dtype=bool, count=n)
    if len(chinese) != n:
        raise NotFoundError(f"index segment {seg_dir} is damaged (chunk flags do not match); rebuild it")
    # flags computed here, or stored before they were the documents', are each chunk's own
    if not (stored and own.get("languages") == "document"):
        chinese = _document_language(chinese, rows)
    store = load_vector_store(
        own.get("vector_store", "faiss"), dim, seg_dir / "vectors", own.get("vector_index")
    )
    return Segment(
        seg_dir.name, table, store, load_lexical(seg_dir / "lexical"), DocTable(rows), chinese, rows
    )
