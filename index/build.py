"""Build and update the on-disk index: parse, chunk, embed (only what changed), store.

Layout of an index directory::

    <index_dir>/CURRENT           name of the live generation (replaced atomically)
    <index_dir>/gen-000007/       manifest.json, chunks.sqlite (documents, chunks, vectors, tokens),
                                  vectors/ (the vector store), lexical/ (BM25, sharded when large),
                                  chinese.npy (each chunk's document's language)
    <index_dir>/.lock             serialises writers across processes

A generation is a list of segments (``index.segment``): a full build writes one, the generation
directory itself; a small update writes a directory holding only the new or changed documents and a
manifest listing the earlier segments with the documents they no longer serve. Either way the new
directory is written into a staging directory and only then does ``CURRENT`` point at it
(``os.replace``): a crash or a rejected input mid-build leaves the previous generation live and
loadable, and segments are never modified once written. SQLite holds every chunk's vector, so a
merge (a full build over an existing index) copies vectors, never re-embeds, and the vector store
and BM25 indexes are derived data rebuilt from it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

import numpy as np

from index.cache import EmbeddingCache, cached_hashes, embed_with_cache
from index.catalog import CATALOG, Catalog, write_catalog
from index.chunk import chunk_articles
from index.embed import Embedder, segments
from index.errors import IndexMismatchError, InputError, NotFoundError
from index.extract import SUPPORTED_SUFFIXES, supported_list
from index.lexical import chunk_tokens, gloss_tokens, save_lexical_parts, sparse_documents
from index.lexicon import Lexicon
from index.normalize import detect_lang
from index.parse import parse_document, read_document
from index.segment import SegmentRef, manifest_segments
from index.storage import TEMP_SUFFIX, write_atomic, writing
from index.store import SPARSE_FIELDS, MilvusCollection, discard_saved, make_vector_store, vector_index
from index.types import Chunk

log = logging.getLogger(__name__)

FORMAT = 1
# segments (index.segment): an update adds one unless the index would then hold more than
# MAX_SEGMENTS, or the chunks outside the first segment plus the deleted ones would pass
# DELTA_SHARE of all; then the update rewrites everything as one segment (a merge). A merge costs a
# full build, so it comes once per DELTA_SHARE of the index added: amortised, an update's cost does
# not grow with the index.
MAX_SEGMENTS = 16
DELTA_SHARE = 0.25
CHUNKER_VERSION = 2  # bump when parsing/chunking output changes, so documents are re-chunked
SUPPORTED = SUPPORTED_SUFFIXES
CHINESE_FLAGS = "chinese.npy"
SEGMENT_FILE = "segment.json"


@dataclass(frozen=True)
class ChunkParams:
    max_tokens: int = 200
    hard_max_tokens: int = 512

    def to_dict(self) -> dict[str, int]:
        return {
            "max_tokens": self.max_tokens,
            "hard_max_tokens": self.hard_max_tokens,
            "version": CHUNKER_VERSION,
        }


@dataclass
class Source:
    """A document to index: its id (path relative to the indexed root) and exact text."""

    doc: str
    text: str
    # how it arrived: {"via": "corpus" | "path" | "upload", "path" | "file", "at", "by"}; recorded in
    # the manifest and shown with the document, so an uploaded text's claimed outlet reads as a claim
    origin: dict[str, str] | None = None

    @property
    def sha256(self) -> str:
        return sha256(self.text.encode("utf-8")).hexdigest()


@dataclass
class BuildReport:
    files: int = 0
    articles: int = 0
    chunks: int = 0
    embedded: int = 0  # texts actually run through the model
    reused: int = 0  # chunks whose vectors were copied or found in the cache
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    generation: str | None = None
    segments: int = 0  # in the generation written (1 after a full build or a merge)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def collect_sources(paths: Sequence[Path], via: str = "path") -> list[Source]:
    """Documents under ``paths``: a directory contributes every supported file below it (ids relative
    to it); a file contributes itself (id = its name). Explicitly named bad files are errors.

    A file found in a directory that cannot be read as text (a damaged or scanned PDF, a file that is
    not UTF-8) is skipped with a warning naming it and why (logger ``index.build``, with the record's
    ``skipped`` attribute set to the path): one bad report among hundreds must not stop the rest from
    being indexed, while a file the user named themselves is still refused.
    """
    out: dict[str, Source] = {}
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise NotFoundError(f"no such file or directory: {p}")
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUPPORTED)
            for f in files:
                if any(part.startswith(".") for part in f.relative_to(p).parts):
                    continue
                doc = f.relative_to(p).as_posix()
                try:
                    text = read_document(f)
                except InputError as e:
                    log.warning("skipped %s: %s", f, _reason(e, f), extra={"skipped": str(f)})
                    continue
                out[doc] = Source(doc, text, _origin(via, f))
        else:
            if p.suffix.lower() not in SUPPORTED:
                raise InputError(
                    f"{p}: unsupported file type {p.suffix or '(none)'}; supported: {supported_list()}"
                )
            out[p.name] = Source(p.name, read_document(p), _origin(via, p))
    return list(out.values())


def _reason(e: InputError, path: Path) -> str:
    """The error's message without the path it starts with (the warning names the file already)."""
    msg = str(e)
    for prefix in (f"{path}: ", f"{path} is ", f"{path} "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def _origin(via: str, path: Path) -> dict[str, str]:
    return {"via": via, "path": str(path.resolve()), "at": datetime.now(UTC).isoformat(timespec="seconds")}


def check_doc_id(doc: str) -> str:
    """Reject ids that could escape a directory or confuse a URL (used for uploads too)."""
    d = doc.strip()
    if not d or d.startswith(("/", "\\")) or "\\" in d or "\x00" in d:
        raise InputError(f"invalid document name {doc!r}")
    # control characters (a newline) and invisible format characters (U+202E reverses the text shown)
    # make a name that cannot be typed, read or deleted reliably
    bad = next((ch for ch in d if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")), None)
    if bad is not None:
        raise InputError(f"invalid document name {doc!r}: it contains the character U+{ord(bad):04X}")
    parts = d.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        raise InputError(f"invalid document name {doc!r}: no '..', hidden or empty path parts")
    if Path(d).suffix.lower() not in SUPPORTED:
        raise InputError(f"unsupported file type for {doc!r}; supported: {supported_list()}")
    return d


# ---------------------------------------------------------------------------------------------------
# generations


def current_generation(index_dir: Path) -> Path | None:
    cur = index_dir / "CURRENT"
    if not cur.exists():
        return None
    gen = index_dir / cur.read_text(encoding="utf-8").strip()
    return gen if (gen / "manifest.json").exists() else None


def read_manifest(gen: Path) -> dict:
    with (gen / "manifest.json").open(encoding="utf-8") as f:
        return json.load(f)


def check_manifest(manifest: dict, model_id: str, dim: int, params: ChunkParams | None, where: Path) -> None:
    """Refuse to mix vectors of different models, dimensions or chunkings in one index."""
    problems = []
    if manifest.get("format") != FORMAT:
        problems.append(f"format {manifest.get('format')} (this version writes {FORMAT})")
    if manifest.get("model_id") != model_id:
        problems.append(f"model {manifest.get('model_id')!r} (configured: {model_id!r})")
    if manifest.get("dim") != dim:
        problems.append(f"dimension {manifest.get('dim')} (configured: {dim})")
    if params is not None and manifest.get("chunking") != params.to_dict():
        problems.append(f"chunking {manifest.get('chunking')} (configured: {params.to_dict()})")
    if problems:
        raise IndexMismatchError(
            f"the index at {where} was built with "
            + "; ".join(problems)
            + ". Rebuild it with `rag index --rebuild`, or use another RAG_INDEX_NAME / RAG_DATA_DIR."
        )


@contextmanager
def _writer_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), check_same_thread=False)
    db.row_factory = sqlite3.Row
    return db


_SCHEMA = """
CREATE TABLE documents (doc TEXT PRIMARY KEY, text TEXT NOT NULL, sha256 TEXT NOT NULL,
                        articles INTEGER NOT NULL, titles TEXT NOT NULL);
CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc TEXT NOT NULL, article INTEGER NOT NULL, title TEXT NOT NULL,
                     source TEXT, date TEXT, section TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
                     text TEXT NOT NULL, context TEXT NOT NULL, hash TEXT NOT NULL,
                     tokens TEXT NOT NULL, gloss TEXT NOT NULL, vector BLOB NOT NULL);
CREATE INDEX chunks_doc ON chunks(doc);
"""


@dataclass
class _DocRows:
    text: str
    sha256: str
    articles: int
    titles: list[str]
    chunks: list[Chunk]
    tokens: Sequence[str]  # space-joined token strings, one per chunk
    gloss: Sequence[str]
    vectors: list[np.ndarray | None]


def _load_doc_rows(db: sqlite3.Connection, only: set[str] | None = None) -> dict[str, _DocRows]:
    docs: dict[str, _DocRows] = {}
    for r in db.execute("SELECT doc, text, sha256, articles, titles FROM documents"):
        if only is not None and r["doc"] not in only:
            continue
        docs[r["doc"]] = _DocRows(
            r["text"], r["sha256"], r["articles"], json.loads(r["titles"]), [], [], [], []
        )
    if only is not None:
        marks = ",".join("?" * len(only))
        rows = db.execute(f"SELECT * FROM chunks WHERE doc IN ({marks}) ORDER BY id", sorted(only))
    else:
        rows = db.execute("SELECT * FROM chunks ORDER BY id")
    tokens: dict[str, list[str]] = {d: [] for d in docs}
    gloss: dict[str, list[str]] = {d: [] for d in docs}
    for r in rows:
        d = docs[r["doc"]]
        d.chunks.append(row_chunk(r))
        tokens[r["doc"]].append(r["tokens"])
        gloss[r["doc"]].append(r["gloss"])
        d.vectors.append(np.frombuffer(r["vector"], dtype=np.float32))
    for doc, d in docs.items():
        d.tokens, d.gloss = tokens[doc], gloss[doc]
    return docs


def row_chunk(r: sqlite3.Row) -> Chunk:
    """A chunk from its row in ``chunks.sqlite`` (shared with the snapshot loader)."""
    return Chunk(
        doc=r["doc"],
        article=r["article"],
        title=r["title"],
        source=r["source"],
        date=r["date"],
        section=r["section"],
        start=r["start"],
        end=r["end"],
        text=r["text"],
        context=r["context"],
    )


def build_index(
    index_dir: Path,
    embedder: Embedder,
    *,
    upsert: Sequence[Source] = (),
    remove: Sequence[str] = (),
    store: str = "faiss",
    params: ChunkParams | None = None,
    cache: EmbeddingCache | Callable[[], EmbeddingCache] | None = None,
    lexicon: Lexicon | Callable[[], Lexicon] | None = None,
    rebuild: bool = False,
    progress: Callable[[int, int], None] | None = None,
    vector_options: Mapping[str, Any] | None = None,
    merge: bool = False,
    max_delta_share: float | None = None,
) -> BuildReport:
    """Add/replace ``upsert`` documents and drop ``remove`` ids; write a new generation if anything
    changed. ``progress(done, total)`` is called while embedding. Unknown ``remove`` ids raise.

    A read-only or full disk is a ``StorageError`` naming the path; the previous generation stays live
    and no temporary file is left behind. ``vector_options`` go to the vector store's constructor
    (faiss: ``ivf_threshold``, ``nprobe``); the kind of index it chose is the manifest's
    ``vector_index``.

    A small change is written as a new segment beside the index's others (``index.segment``), so its
    cost does not grow with the index; ``merge`` (or the policy above ``MAX_SEGMENTS``) rewrites the
    index as one segment, reusing every vector.
    """
    with writing(index_dir, note="the index was left as it was"):
        return _build_index(
            index_dir,
            embedder,
            upsert,
            remove,
            store,
            params,
            cache,
            lexicon,
            rebuild,
            progress,
            vector_options,
            merge,
            DELTA_SHARE if max_delta_share is None else max_delta_share,
        )


def _build_index(
    index_dir: Path,
    embedder: Embedder,
    upsert: Sequence[Source],
    remove: Sequence[str],
    store: str,
    params: ChunkParams | None,
    cache: EmbeddingCache | Callable[[], EmbeddingCache] | None,
    lexicon: Lexicon | Callable[[], Lexicon] | None,
    rebuild: bool,
    progress: Callable[[int, int], None] | None,
    vector_options: Mapping[str, Any] | None,
    merge: bool,
    max_delta_share: float,
) -> BuildReport:
    t0 = time.perf_counter()
    params = params or ChunkParams()
    report = BuildReport(files=len(upsert))
    with _writer_lock(index_dir), ExitStack() as stack:
        prev_gen = None if rebuild else current_generation(index_dir)
        meta = Catalog(None)  # the live documents
        refs: list[SegmentRef] = []
        origins: dict[str, dict[str, str]] = {}  # of the documents written now
        if prev_gen is not None:
            manifest = read_manifest(prev_gen)
            check_manifest(manifest, embedder.model_id, embedder.dim, params, index_dir)
            refs = manifest_segments(manifest, prev_gen.name)
            meta = stack.enter_context(closing(Catalog.of(prev_gen, manifest)))
        for doc in remove:
            if doc not in meta:
                raise NotFoundError(f"no document {doc!r} in the index")
        gone = set(remove)
        report.removed = [d for d in remove]

        # parse + chunk what is new or changed
        todo: list[tuple[str, _DocRows]] = []
        for src in upsert:
            old = meta.get(src.doc) if src.doc not in gone else None
            if old is not None and old["sha256"] == src.sha256:
                continue
            articles = parse_document(src.doc, src.text)
            chunks = chunk_articles(
                articles, src.text, embedder.count_tokens, params.max_tokens, params.hard_max_tokens
            )
            rows = _DocRows(
                src.text, src.sha256, len(articles), [a.title for a in articles], chunks, [], [], []
            )
            todo.append((src.doc, rows))
            (report.updated if old is not None else report.added).append(src.doc)
            origin = src.origin or (old or {}).get("origin")
            if origin:
                origins[src.doc] = origin

        if not (report.changed or merge) and prev_gen is not None:
            report.generation = prev_gen.name
            report.segments = len(refs)
            _fill_counts_meta(report, meta, index_dir, refs)
            report.seconds = time.perf_counter() - t0
            return report
        # the documents this update takes out of their segments (removed or replaced), as catalogued
        old_meta = {d: meta[d] for d in gone | set(report.updated)}

        # a small change becomes a new segment beside the others; a large one (or too many segments,
        # or too many deleted chunks) rewrites the index as one segment: the merge
        new_chunks = sum(len(r.chunks) for _, r in todo)
        total = sum(r.chunks for r in refs) + new_chunks
        dead = sum(r.dead for r in refs) + sum(int(m["chunks"]) for m in old_meta.values())
        delta = sum(r.chunks for r in refs[1:]) + new_chunks
        incremental = (
            prev_gen is not None
            and not merge
            and store == "faiss"
            and len(refs) < MAX_SEGMENTS
            and delta + dead <= max_delta_share * total
        )
        prev: dict[str, _DocRows] = {}
        if prev_gen is not None:
            # vectors to reuse: the replaced documents' (a merge reads every live document anyway)
            prev = _load_segment_rows(index_dir, refs, None if not incremental else set(report.updated), meta)
        docs = {d: rows for d, rows in prev.items() if d not in gone}

        # vectors: reuse by content hash (previous generation, then the cache), embed the rest
        known: dict[str, np.ndarray] = {}
        for rows in prev.values():
            for c, v in zip(rows.chunks, rows.vectors, strict=True):
                if v is not None:
                    known[c.content_hash] = v
        lex: Lexicon | None = None
        pending: list[Chunk] = []
        for _, rows in todo:
            if lex is None and rows.chunks:
                lex = lexicon() if callable(lexicon) else lexicon
            toks = [chunk_tokens(c) for c in rows.chunks]
            rows.tokens = [" ".join(t) for t in toks]
            rows.gloss = [
                " ".join(gloss_tokens(c.embed_text, lex, t)) if lex else ""
                for c, t in zip(rows.chunks, toks, strict=True)
            ]
            rows.vectors = [known.get(c.content_hash) for c in rows.chunks]
            pending.extend(c for c, v in zip(rows.chunks, rows.vectors, strict=True) if v is None)
        report.reused += sum(len(r.chunks) for _, r in todo) - len(pending)
        if pending:
            te = time.perf_counter()
            done = [0]

            def tick(n: int) -> None:
                done[0] += n
                if progress:
                    progress(done[0], len(pending))

            if progress:
                progress(0, len(pending))  # the total is known before the first batch is embedded

            own_cache = cache is None
            # opened only when something needs embedding: an unchanged corpus touches no file
            if callable(cache):
                ec = cache()
            else:
                # "is None", not "or": an empty cache is falsy (it has a length) and must still be used
                ec = (
                    cache
                    if cache is not None
                    else EmbeddingCache(index_dir / "embeddings.sqlite", embedder.model_id, embedder.dim)
                )
            try:
                hashes = {p.content_hash for p in pending}
                cached = cached_hashes(embedder, ec, sorted(hashes))
                report.reused += sum(1 for p in pending if p.content_hash in cached)
                report.embedded = len(hashes) - len(cached)
                vecs = embed_with_cache(
                    embedder,
                    [p.embed_text for p in pending],
                    [p.content_hash for p in pending],
                    ec,
                    progress=tick,
                )
            finally:
                if own_cache:
                    ec.close()
            report.embed_seconds = time.perf_counter() - te
            fresh = {p.content_hash: v for p, v in zip(pending, vecs, strict=True)}
            for _, rows in todo:
                rows.vectors = [
                    v if v is not None else fresh[ch.content_hash]
                    for ch, v in zip(rows.chunks, rows.vectors, strict=True)
                ]
        if incremental:
            assert prev_gen is not None
            report.generation = _write_segment(
                index_dir, todo, refs, meta, old_meta, embedder, params, origins, vector_options
            )
            report.segments = len(refs) + (1 if todo else 0)
            report.chunks = total - dead
            _, report.articles = meta.totals()
            report.articles += sum(r.articles for _, r in todo) - sum(
                int(m.get("articles", 0)) for m in old_meta.values()
            )
        else:
            for d, rows in todo:
                docs[d] = rows
            kept = {d: o for d, o in meta.origins().items() if d not in gone}
            report.generation = _write_generation(
                index_dir, docs, embedder, store, params, kept | origins, vector_options
            )
            report.segments = 1
            _fill_counts(report, docs)
        # the new generation's segments are the previous one's (still read by snapshots of it) and
        # its own directory
        keep = {report.generation} | {r.name for r in refs}
        if prev_gen is not None:
            keep.add(prev_gen.name)
        _prune_generations(index_dir, keep=keep)
    report.seconds = time.perf_counter() - t0
    return report


def _fill_counts(report: BuildReport, docs: dict[str, _DocRows]) -> None:
    report.articles = sum(r.articles for r in docs.values())
    report.chunks = sum(len(r.chunks) for r in docs.values())


def _fill_counts_meta(report: BuildReport, meta: Catalog, index_dir: Path, refs: list[SegmentRef]) -> None:
    """Counts of an unchanged index from its catalog (a manifest written before it recorded articles:
    from the rows)."""
    if meta.path is None and any("articles" not in meta[d] for d in meta):
        _fill_counts(report, _load_segment_rows(index_dir, refs, None, meta))
    else:
        report.chunks, report.articles = meta.totals()


def _load_segment_rows(
    index_dir: Path, refs: list[SegmentRef], only: set[str] | None, meta: Mapping[str, Mapping[str, Any]]
) -> dict[str, _DocRows]:
    """The live documents' rows (vectors included) from every segment; ``only`` limits them to those
    documents (an update reads just the ones it replaces, not the whole index)."""
    out: dict[str, _DocRows] = {}
    wanted: dict[str, set[str]] | None = None
    if only is not None:
        wanted = {}
        for d in only:
            if d in meta:
                wanted.setdefault(str(meta[d]["segment"]), set()).add(d)
    for ref in refs:
        if wanted is not None and ref.name not in wanted:
            continue
        db = _connect(index_dir / ref.name / "chunks.sqlite")
        try:
            rows = _load_doc_rows(db, None if wanted is None else wanted[ref.name])
        finally:
            db.close()
        out.update({d: r for d, r in rows.items() if d not in ref.removed})
    return out


def _write_generation(
    index_dir: Path,
    docs: Mapping[str, _DocRows],
    embedder: Embedder,
    store: str,
    params: ChunkParams,
    origins: dict[str, dict[str, str]],
    vector_options: Mapping[str, Any] | None = None,
    layout: Callable[[str, int, Path], dict[str, Any]] | None = None,
) -> str:
    """Write ``docs`` as a new generation directory and make it live. ``layout(name, chunks,
    staging)`` writes the catalog of a segmented generation into ``staging`` and gives its manifest
    entries (segments, live chunks); without it the generation is the whole index, one segment."""
    n = 1 + max((int(p.name[4:]) for p in index_dir.glob("gen-*") if p.name[4:].isdigit()), default=0)
    name = f"gen-{n:06d}"
    staging = index_dir / f".staging-{name}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    vs = None
    try:
        ids, vectors, chinese = _write_chunks(staging / "chunks.sqlite", docs)
        options = dict(vector_options or {})
        parts = segments(embedder)
        if store == "faiss" and len(parts) > 1:
            # retrieval searches each part alone: the IVF's nprobe has to be right for those queries
            options.setdefault("parts", [w for _, w in parts])
        vs = make_vector_store(store, embedder.dim, staging / "vectors", options)
        if ids and isinstance(vs, MilvusCollection):
            _add_milvus_rows(vs, staging / "chunks.sqlite", ids, vectors)
        elif ids:
            vs.add(np.asarray(ids, dtype=np.int64), np.vstack(vectors))
        vs.save(staging / "vectors")
        save_lexical_parts(staging / "lexical", len(ids), _token_reader(staging / "chunks.sqlite"))
        # per chunk, whether its document is written in Chinese (``document_chinese``): what every
        # search needs, kept so loading reads no chunk text
        with writing(staging / CHINESE_FLAGS):
            np.save(staging / CHINESE_FLAGS, np.asarray(chinese, dtype=bool))
        manifest = {
            "format": FORMAT,
            "model_id": embedder.model_id,
            "dim": embedder.dim,
            "vector_store": store,
            "vector_index": vector_index(vs),
            "chunking": params.to_dict(),
            "chunks": len(ids),
            "segment_chunks": len(ids),  # this directory's own chunks (a segmented manifest's
            # "chunks" counts the live ones of all its segments)
            "languages": "document",  # what CHINESE_FLAGS holds (older indexes: each chunk's own)
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if layout is not None:
            manifest |= layout(name, len(ids), staging)
        else:
            manifest["document_count"] = write_catalog(
                staging / CATALOG, ((d, _doc_meta(docs[d], name, origins.get(d))) for d in sorted(docs))
            )
        (staging / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        # what loading this directory as a segment needs, without parsing the whole manifest
        own = {k: manifest[k] for k in ("vector_store", "vector_index", "segment_chunks", "languages")}
        (staging / SEGMENT_FILE).write_text(json.dumps(own), encoding="utf-8")
        _close(vs)
        vs = None
        staging.rename(index_dir / name)
    except BaseException:
        _discard(vs)  # a Milvus server's collection of a generation that never became live
        _close(vs)  # Milvus Lite's server must let go of the directory before it is removed
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        write_atomic(index_dir / "CURRENT", name, fsync=True)
    except BaseException:
        _remove_generation(index_dir / name)  # never live: CURRENT names the previous one
        raise
    return name


def _doc_meta(rows: _DocRows, segment: str, origin: dict[str, str] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "sha256": rows.sha256,
        "chars": len(rows.text),
        "chunks": len(rows.chunks),
        "articles": rows.articles,
        "segment": segment,
    }
    return meta | ({"origin": origin} if origin else {})


def _write_segment(
    index_dir: Path,
    todo: list[tuple[str, _DocRows]],
    refs: list[SegmentRef],
    meta: Catalog,
    dropped: Mapping[str, Mapping[str, Any]],
    embedder: Embedder,
    params: ChunkParams,
    origins: dict[str, dict[str, str]],
    vector_options: Mapping[str, Any] | None,
) -> str:
    """A generation that adds ``todo`` as a new segment and marks the ``dropped`` documents (their
    catalog entries) deleted in the segments holding them; nothing else is read or written."""
    removed: dict[str, set[str]] = {r.name: set(r.removed) for r in refs}
    dead = {r.name: r.dead for r in refs}
    for d, m in dropped.items():
        removed[str(m["segment"])].add(d)
        dead[str(m["segment"])] += int(m["chunks"])

    def layout(name: str, own: int, staging: Path) -> dict[str, Any]:
        count = write_catalog(
            staging / CATALOG, [(d, _doc_meta(r, name, origins.get(d))) for d, r in todo], meta, dropped
        )
        segs = [SegmentRef(r.name, r.chunks, frozenset(removed[r.name]), dead[r.name]) for r in refs]
        if own:
            segs.append(SegmentRef(name, own))
        live = sum(r.chunks - r.dead for r in segs)
        return {"segments": [s.to_dict() for s in segs], "chunks": live, "document_count": count}

    return _write_generation(
        index_dir, dict(todo), embedder, "faiss", params, origins, vector_options, layout
    )


def _discard(store: object) -> None:
    discard = getattr(store, "discard", None)
    if callable(discard):
        try:
            discard()
        except Exception as e:  # noqa: BLE001 - the build's own error is the one to report
            log.warning("could not drop the vector store's server-side data: %s", e)


def _remove_generation(gen: Path) -> None:
    """Delete a generation directory and what its vector store keeps elsewhere (a Milvus server's
    collection); a server that cannot be reached leaves the collection behind, with a warning."""
    try:
        discard_saved(gen / "vectors")
    except Exception as e:  # noqa: BLE001 - pruning must not fail an update that has already landed
        log.warning("could not drop the vector collection of %s: %s", gen.name, e)
    shutil.rmtree(gen, ignore_errors=True)


def _close(store: object) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()


def document_chinese(chinese: Sequence[bool], lengths: Sequence[int]) -> bool:
    """Whether a document is written in Chinese: most of its chunks' text is (by characters).

    Retrieval compares lexical scores only among passages of one language and lifts each language's
    best passage to meet the others' on the aligned cosine alone (``rag.retrieve``). So a passage
    takes its document's language: an English table or reference list inside a Chinese report is
    one of the report's passages, not "the best English passage" for matching next to nothing (on
    the seeds it outranked the report's better passages: hybrid MRR 0.850, lexical alone 0.864)."""
    total = sum(lengths)
    if not total:
        return any(chinese)
    return 2 * sum(n for zh, n in zip(chinese, lengths, strict=True) if zh) >= total


def _write_chunks(path: Path, docs: Mapping[str, _DocRows]) -> tuple[list[int], list[np.ndarray], list[bool]]:
    """Write ``chunks.sqlite``; the chunk ids, vectors and language flags for the derived indexes
    (their tokens are read back a shard at a time: ``_token_reader``)."""
    # SQLite's errors ("database or disk is full") name no file: this one is named for them
    with writing(path):
        db = _connect(path)
        try:
            db.executescript(_SCHEMA)
            ids: list[int] = []
            vectors: list[np.ndarray] = []
            chinese: list[bool] = []
            cid = 0
            for doc in sorted(docs):
                rows = docs[doc]
                db.execute(
                    "INSERT INTO documents VALUES (?,?,?,?,?)",
                    (doc, rows.text, rows.sha256, rows.articles, json.dumps(rows.titles, ensure_ascii=False)),
                )
                for c, tok, gl, v in zip(rows.chunks, rows.tokens, rows.gloss, rows.vectors, strict=True):
                    assert v is not None
                    vec = np.asarray(v, dtype=np.float32)
                    db.execute(
                        "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            cid,
                            c.doc,
                            c.article,
                            c.title,
                            c.source,
                            c.date,
                            c.section,
                            c.start,
                            c.end,
                            c.text,
                            c.context,
                            c.content_hash,
                            tok,
                            gl,
                            vec.tobytes(),
                        ),
                    )
                    ids.append(cid)
                    vectors.append(vec)
                    cid += 1
                zh = [detect_lang(c.text) == "zh" for c in rows.chunks]
                chinese.extend([document_chinese(zh, [len(c.text) for c in rows.chunks])] * len(zh))
            db.commit()
        finally:
            db.close()
    return ids, vectors, chinese


def _add_milvus_rows(
    vs: MilvusCollection, path: Path, ids: list[int], vectors: list[np.ndarray], batch: int = 2000
) -> None:
    """Each chunk into the Milvus collection with its row and both BM25 fields as sparse vectors
    (IDF-free: the query carries it), so the collection alone can serve a search and a citation."""
    db = sqlite3.connect(str(path))
    try:
        lengths = {"tokens": 0, "gloss": 0}
        for tok, gl in db.execute("SELECT tokens, gloss FROM chunks"):
            lengths["tokens"] += max(len(tok.split()), 1)
            lengths["gloss"] += max(len(gl.split()), 1)
        avg = {k: v / len(ids) for k, v in lengths.items()}
        position = {cid: j for j, cid in enumerate(ids)}
        cur = db.execute(
            'SELECT id, doc, source, date, start, "end", text, tokens, gloss FROM chunks ORDER BY id'
        )
        while chunk_rows := cur.fetchmany(batch):
            text_w = sparse_documents([r[7].split() for r in chunk_rows], avg["tokens"])
            gloss_w = sparse_documents([r[8].split() for r in chunk_rows], avg["gloss"])
            rows = [
                {
                    "doc": r[1],
                    "source": r[2] or "",
                    "date": r[3] or "",
                    "start": r[4],
                    "stop": r[5],
                    "text": r[6],
                    SPARSE_FIELDS["text"]: tw,
                    SPARSE_FIELDS["gloss"]: gw,
                }
                for r, tw, gw in zip(chunk_rows, text_w, gloss_w, strict=True)
            ]
            at = [position[r[0]] for r in chunk_rows]
            vs.add(
                np.asarray([r[0] for r in chunk_rows], np.int64), np.vstack([vectors[j] for j in at]), rows
            )
    finally:
        db.close()


def _token_reader(path: Path) -> Callable[[int, int], tuple[list[list[str]], list[list[str]]]]:
    """Token lists of a range of chunk ids from ``chunks.sqlite``, each token string shared
    (interned): a shard of long chunks holds tens of millions of tokens of a small vocabulary."""
    import sys

    def read(start: int, stop: int) -> tuple[list[list[str]], list[list[str]]]:
        db = sqlite3.connect(str(path))
        try:
            rows = db.execute(
                "SELECT tokens, gloss FROM chunks WHERE id >= ? AND id < ? ORDER BY id", (start, stop)
            )
            text, gloss = [], []
            for tok, gl in rows:
                text.append([sys.intern(t) for t in tok.split()])
                gloss.append([sys.intern(t) for t in gl.split()])
            return text, gloss
        finally:
            db.close()

    return read


def _prune_generations(index_dir: Path, keep: set[str]) -> None:
    """Keep the live and the previous generation (a reader may still hold the previous one open)."""
    for p in index_dir.iterdir():
        stale_gen = p.name.startswith("gen-") and p.name not in keep
        if stale_gen or p.name.startswith(".staging-"):
            _remove_generation(p)
        elif p.name.endswith(TEMP_SUFFIX) and p.is_file():
            # temporaries are written under the writer lock, which this build holds: one found now was
            # left by a process that was killed mid-write
            p.unlink(missing_ok=True)
