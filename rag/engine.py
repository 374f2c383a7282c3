"""The engine: the loaded embedder and index, and the operations every front end uses.

The CLI, the HTTP service and the evaluation harness all go through one ``Engine``. It is built once
(the model loads at construction, never at import) and passed around explicitly: no global singleton.
Reads use an immutable snapshot of the index; an update builds a new generation, loads it, and swaps
the reference under a lock, so reads keep being served while documents are added or deleted.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index.build import (
    BuildReport,
    ChunkParams,
    Source,
    build_index,
    check_doc_id,
    collect_sources,
    current_generation,
)
from index.cache import EmbeddingCache
from index.embed import Embedder, default_threads, make_embedder, query_parts
from index.errors import ConfigError, IndexMismatchError, InputError
from index.lexical import RemoteLexical
from index.lexicon import (
    NAMES_GLOSSARY,
    TERMS_GLOSSARY,
    Lexicon,
    build_english_sound_index,
    build_pinyin_index,
    build_sound_index,
    build_spelling_index,
    read_glossary,
)
from index.segment import UnionIndex
from index.snapshot import IndexSnapshot, load_snapshot
from index.store import MilvusCollection
from index.types import Chunk
from rag.answer import AnswerParams, abstain, compose
from rag.batch import Gated, PriorityGate, QueryBatcher
from rag.deltas import deltas
from rag.followup import read_in_context
from rag.query import Query, analyze
from rag.retrieve import FusionWeights
from rag.retrieve import search as hybrid_search
from rag.settings import Settings
from rag.types import Answer, DocumentInfo, Filters, Hit

ProgressFn = Callable[[int, int], None]


def build_embedder(settings: Settings) -> Embedder:
    kwargs: dict[str, Any] = {}
    if settings.embedder == "sentence-transformers":
        kwargs["model"] = settings.embedder_model
    else:
        kwargs["num_threads"] = settings.threads or default_threads()
    return make_embedder(settings.embedder, **kwargs)


# a corpus word index by reading or sound: key -> the corpus words
NameIndex = Mapping[str, tuple[str, ...]]


class Engine:
    def __init__(
        self, settings: Settings, embedder: Embedder, lexicon: Lexicon | None = None, llm: Any = None
    ) -> None:
        self.settings = settings
        # every model call passes one gate (queries first, documents in small pieces) and questions
        # are embedded in micro-batches across requests: see rag.batch
        self.gate = PriorityGate()
        self.embedder = QueryBatcher(
            Gated(embedder, self.gate),
            max_batch=settings.batch_size,
            max_wait_ms=settings.batch_wait_ms,
            cache_size=settings.query_cache,
        )
        self._lexicon = lexicon
        self.llm = llm
        self.weights = FusionWeights()
        self.answer_params = AnswerParams()
        self._snapshot: IndexSnapshot | None = None
        self._write_lock = threading.Lock()
        self._pinyin: dict[str, tuple[NameIndex, NameIndex, NameIndex, NameIndex]] = {}
        self._uploaded: dict[str, frozenset[str]] = {}
        self._untrusted: dict[str, frozenset[str]] = {}

    # ---------------------------------------------------------------- lifecycle

    @classmethod
    def open(
        cls,
        settings: Settings,
        embedder: Embedder | None = None,
        progress: bool | ProgressFn = False,
        sync_corpus: bool | None = None,
    ) -> Engine:
        """Load the model and the index.

        ``sync_corpus``: True indexes ``settings.corpus`` (only files whose content changed, by hash,
        so an up-to-date index embeds nothing); None (default) does so only when no index exists yet.
        """
        emb = embedder or build_embedder(settings)
        llm = None
        if settings.llm_url:
            from rag.llm import make_llm_client

            llm = make_llm_client(settings)
        eng = cls(settings, emb, None, llm)
        _ = eng.lexicon  # load at startup, not on the first question
        missing = current_generation(settings.index_dir) is None
        if (sync_corpus or (sync_corpus is None and missing)) and settings.corpus.exists():
            eng.index_paths([settings.corpus], progress=progress, via="corpus")
        eng.reload()
        # the segmenter's dictionaries and the snapshot's pinyin index load on first use: a second
        # or more that belongs at startup, not in the first user's answer time
        eng.analyze("预热 warm-up")
        return eng

    def close(self) -> None:
        """Stop the query-embedding worker (the HTTP service does so at shutdown)."""
        self.embedder.close()

    def reload(self) -> None:
        self._snapshot = self._load(reuse=self._snapshot)

    def _load(self, reuse: IndexSnapshot | None = None) -> IndexSnapshot:
        snap = load_snapshot(self.settings.index_dir, self.embedder.model_id, self.embedder.dim, reuse=reuse)
        backend = self.settings.lexical_backend
        if backend == "local":
            return snap
        if backend != "milvus":
            raise ConfigError(f"unknown lexical backend {backend!r}; choose one of local, milvus")
        if not isinstance(snap.store, MilvusCollection):
            raise ConfigError(
                "RAG_LEXICAL_BACKEND=milvus searches BM25 in the Milvus collection: it needs "
                "RAG_VECTOR_STORE=milvus (and an index built with it)"
            )
        if not snap.store.has_bm25():
            raise IndexMismatchError(
                f"the Milvus collection of {snap.generation} holds no BM25 fields (built before they "
                "were added): rebuild it with `rag index --rebuild`"
            )
        assert not isinstance(snap.lexical, RemoteLexical)  # a loaded snapshot's own BM25
        return dataclasses.replace(snap, lexical=RemoteLexical(snap.lexical, snap.store))

    @property
    def lexicon(self) -> Lexicon:
        # loaded on first use: re-indexing an unchanged corpus never needs it
        if self._lexicon is None:
            lex = Lexicon.load(self.settings.cache_dir)
            lex.add_glossary(read_glossary(TERMS_GLOSSARY))
            lex.add_glossary(read_glossary(NAMES_GLOSSARY), names=True)
            if self.settings.glossary is not None:
                lex.add_glossary(read_glossary(self.settings.glossary), names=True)
            self._lexicon = lex
        return self._lexicon

    @property
    def snapshot(self) -> IndexSnapshot:
        if self._snapshot is None:
            self.reload()
        assert self._snapshot is not None
        return self._snapshot

    @property
    def ready(self) -> bool:
        return self._snapshot is not None

    # ---------------------------------------------------------------- indexing

    def _build(
        self,
        upsert: list[Source],
        remove: Sequence[str] = (),
        progress: bool | ProgressFn = False,
        rebuild: bool = False,
        merge: bool = False,
    ) -> BuildReport:
        cb = _progress_bar(progress)
        opened: list[EmbeddingCache] = []

        def open_cache() -> EmbeddingCache:
            c = EmbeddingCache(
                self.settings.cache_dir / "embeddings.sqlite", self.embedder.model_id, self.embedder.dim
            )
            opened.append(c)
            return c

        try:
            report = build_index(
                self.settings.index_dir,
                self.embedder,
                upsert=upsert,
                remove=list(remove),
                store=self.settings.vector_store,
                params=ChunkParams(self.settings.chunk_tokens),
                cache=open_cache,
                lexicon=lambda: self.lexicon,
                rebuild=rebuild,
                progress=cb,
                merge=merge,
                vector_options=(
                    {"uri": self.settings.milvus_uri}
                    if self.settings.vector_store == "milvus" and self.settings.milvus_uri
                    else None
                ),
            )
        finally:
            for c in opened:
                c.close()
            close = getattr(cb, "close", None)
            if callable(close):
                close()
        return report

    def index_paths(
        self,
        paths: list[Path],
        progress: bool | ProgressFn = False,
        rebuild: bool = False,
        via: str = "path",
        merge: bool = False,
    ) -> BuildReport:
        """Index files and directories; ``via`` records how they arrived ("corpus": the configured
        corpus, "path": named to ``rag index``); ``merge`` folds the index's segments into one."""
        sources = collect_sources(paths, via)
        with self._write_lock:
            report = self._build(sources, progress=progress, rebuild=rebuild, merge=merge)
            if report.changed or self._snapshot is None or rebuild or merge:
                self._swap()
        return report

    def add_document(self, name: str, text: str, progress: ProgressFn | None = None) -> DocumentInfo:
        """Index one document; ``progress(done, total)`` while embedding (an exception it raises
        aborts the build and leaves the index as it was)."""
        doc = check_doc_id(name)
        if not text.strip():
            raise InputError(f"{doc}: the document is empty")
        origin = {
            "via": "upload",
            "file": doc,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "by": "API key" if self.settings.api_key else "anonymous (no RAG_API_KEY)",
        }
        with self._write_lock:
            self._build([Source(doc, text, origin)], progress=progress or False)
            self._swap()
        return self.document_info(doc)

    def delete_document(self, doc: str) -> None:
        self.snapshot.document(doc)  # NotFoundError for an unknown id
        with self._write_lock:
            self._build([], remove=[doc])
            self._swap()

    def _swap(self) -> None:
        old = self._snapshot
        # segments the new generation shares with the old one are not read again (an upload loads
        # only its own segment)
        self._snapshot = self._load(reuse=old)
        if old is not None:
            # a no-op for FAISS; Milvus Lite must release its server for the old directory
            old.close(keep=self._snapshot)

    # ---------------------------------------------------------------- documents

    def documents(self) -> list[DocumentInfo]:
        return [self.document_info(d) for d in sorted(self.snapshot.documents)]

    def document_info(self, doc: str) -> DocumentInfo:
        r = self.snapshot.summary(doc)  # a listing of an archive reads no document's text
        return DocumentInfo(
            doc=r.doc,
            chars=r.chars,
            sha256=r.sha256,
            articles=r.articles,
            chunks=r.chunks,
            titles=r.titles,
            origin=r.origin,
        )

    def document_text(self, doc: str) -> str:
        return self.snapshot.document(doc).text

    def stats(self) -> dict[str, Any]:
        s = self.snapshot
        return {
            "documents": len(s.documents),
            "chunks": s.live_size,
            "segments": len(s.segments),
            "model_id": self.embedder.model_id,
            "dim": self.embedder.dim,
            "vector_store": s.manifest.get("vector_store", "faiss"),
            "lexical": "milvus" if isinstance(s.lexical, RemoteLexical) else "local",
            "generation": s.generation,
        }

    # ---------------------------------------------------------------- reads

    def analyze(self, question: str, snapshot: IndexSnapshot | None = None) -> Query:
        q = question.strip()
        if not q:
            raise InputError("the question is empty")
        snap = snapshot or self.snapshot
        pinyin, sound, english, spelling = self._name_indexes(snap)
        return analyze(
            q,
            self.lexicon,
            pinyin,
            sound_index=sound,
            english_sound_index=english,
            spelling_index=spelling,
        )

    def _uploads(self, snap: IndexSnapshot) -> frozenset[str]:
        """The snapshot's uploaded documents, read from its manifest once per generation, not per answer."""
        docs = self._uploaded.get(snap.generation)
        if docs is None:
            docs = uploaded(snap)
            self._uploaded = {snap.generation: docs}  # one set per live snapshot
        return docs

    def _penalty(self, snap: IndexSnapshot) -> Callable[[Chunk], float] | None:
        """The ranking deduction for passages outside ``RAG_TRUSTED_SOURCES`` (None when unset)."""
        if not self.settings.trusted_sources:
            return None
        docs = self._untrusted.get(snap.generation)
        if docs is None:
            docs = untrusted(snap, self.settings.trusted_sources)
            self._untrusted = {snap.generation: docs}  # one set per live snapshot
        cost = self.settings.untrusted_penalty
        return lambda c: cost if c.doc in docs else 0.0

    def _name_indexes(self, snap: IndexSnapshot) -> tuple[NameIndex, NameIndex, NameIndex, NameIndex]:
        """The corpus's words by pinyin reading, by the sound of a transliterated name, Chinese
        (for English questions) and English (for Chinese ones), and by spelling (a misspelt name).
        Built per segment and kept while the live snapshot has it: after an upload only the new
        segment's vocabulary is read."""
        if not snap.segments:  # a snapshot made by hand (tests): its vocabulary as one part
            return self._vocabulary_indexes(snap.generation, snap.df_text)
        parts = [self._vocabulary_indexes(seg.name, seg.df_text) for seg in snap.segments]
        keep = {seg.name for seg in snap.segments}
        self._pinyin = {k: v for k, v in self._pinyin.items() if k in keep}
        if len(parts) == 1:
            return parts[0]
        return (
            UnionIndex([p[0] for p in parts]),
            UnionIndex([p[1] for p in parts]),
            UnionIndex([p[2] for p in parts]),
            UnionIndex([p[3] for p in parts]),
        )

    def _vocabulary_indexes(
        self, key: str, words: Mapping[str, int]
    ) -> tuple[NameIndex, NameIndex, NameIndex, NameIndex]:
        idx = self._pinyin.get(key)
        if idx is None:
            idx = (
                build_pinyin_index(words, self.lexicon),
                build_sound_index(words, self.lexicon),
                build_english_sound_index(words, self.lexicon),
                build_spelling_index(words, self.lexicon),
            )
            self._pinyin[key] = idx
        return idx

    def search(
        self, query: str, k: int = 10, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[Hit]:
        if k < 1:
            raise InputError("k must be at least 1")
        snap = self.snapshot
        q = self.analyze(query, snap)
        return hybrid_search(
            snap,
            self.embedder,
            q,
            k=k,
            candidates=max(self.settings.candidates, k),
            filters=filters,
            mode=mode,
            weights=self.weights,
            penalty=self._penalty(snap),
        )

    def _extractive(self, question: str, filters: Filters | None) -> Answer:
        t0 = time.perf_counter()
        snap = self.snapshot
        q = self.analyze(question, snap)
        qvec = self.embedder.encode_query([q.text])[0]  # searched with, and weighed against the quote
        hits = hybrid_search(
            snap,
            self.embedder,
            q,
            k=self.settings.top_k,
            candidates=self.settings.candidates,
            filters=filters,
            weights=self.weights,
            penalty=self._penalty(snap),
            qvec=qvec,
        )
        t1 = time.perf_counter()
        texts = {h.chunk.doc: snap.documents[h.chunk.doc].text for h in hits}
        if hits:
            ans = compose(
                q,
                hits,
                texts,
                self.lexicon,
                snap,
                self.answer_params,
                self._uploads(snap),
                self._similarity(qvec),
            )
        else:
            ans = abstain(q.text, hits)
        t2 = time.perf_counter()
        ans.timings_ms = {"retrieve": _ms(t1 - t0), "answer": _ms(t2 - t1), "total": _ms(t2 - t0)}
        return ans

    def _similarity(self, qvec: Any) -> Callable[[str, Collection[str] | None], dict[str, float]]:
        """Each embedder's cosine between the question (the vector it was searched with) and one
        sentence: ``sentence_e5``, ``sentence_use``; only those of the models named, when named
        (those the answer's abstention model weighs: across languages USE's alone). The sentence is
        embedded in the questions' batches (``QueryBatcher.submit``, the part as its kind)."""
        parts = {name: (i, q) for i, (name, q) in enumerate(query_parts(self.embedder, qvec).items())}
        paired = len(parts) > 1

        def sim(sentence: str, models: Collection[str] | None = None) -> dict[str, float]:
            # every model's request queued before waiting on any, so they share one batch
            pending = {
                name: (q, self.embedder.submit(sentence, i if paired else None))
                for name, (i, q) in parts.items()
                if models is None or name in models
            }
            return {f"sentence_{name}": float(q @ f.result()) for name, (q, f) in pending.items()}

        return sim

    def read(self, question: str, history: Sequence[str] = ()) -> str:
        """The question as it stands on its own, given the user's earlier questions in this
        conversation (oldest first): a follow-up ("And Microsoft's?") is read against them."""
        names = self.lexicon.name_forms if self.lexicon is not None else frozenset()
        return read_in_context(question, history, names)

    def _read_extractive(self, question: str, filters: Filters | None, history: Sequence[str]) -> Answer:
        read_as = self.read(question, history) if history else question.strip()
        ans = self._extractive(read_as, filters)
        if read_as != question.strip():
            ans.question, ans.read_as = question.strip(), read_as
        return ans

    def ask(self, question: str, filters: Filters | None = None, history: Sequence[str] = ()) -> Answer:
        ans = self._read_extractive(question, filters, history)
        if self.llm is None or ans.abstained and not ans.hits:
            return ans
        from rag.generate import llm_answer

        t0 = time.perf_counter()
        out = llm_answer(ans.read_as or question.strip(), ans.hits, ans, self.llm, self.settings)
        out.question, out.read_as = ans.question, ans.read_as
        out.timings_ms = {**ans.timings_ms, "llm": _ms(time.perf_counter() - t0)}
        out.timings_ms["total"] = ans.timings_ms["total"] + out.timings_ms["llm"]
        return out

    def ask_stream(
        self, question: str, filters: Filters | None = None, history: Sequence[str] = ()
    ) -> Iterator[str | Answer]:
        """Text deltas, then the final Answer; the deltas joined are its content ("Read as: ...\n"
        for a follow-up, then its text), so a front end may show them as final as they come.

        Not a generator: retrieval and the extractive answer happen in this call, so bad input raises
        here, before a front end has started its response, and the stream's first delta goes out as
        soon as the answer is chosen. Extractive text is final when composed and streams in small
        pieces at once; an LLM's reply streams sentence by sentence as each passes verification
        (``rag.generate.llm_answer_stream``).
        """
        ans = self._read_extractive(question, filters, history)
        if self.llm is not None and ans.hits:
            return self._llm_stream(question, ans)
        return _extractive_stream(ans)

    def _llm_stream(self, question: str, ans: Answer) -> Iterator[str | Answer]:
        from rag.generate import llm_answer_stream

        if ans.read_as:
            yield from deltas(f"Read as: {ans.read_as}\n")
        for item in llm_answer_stream(
            ans.read_as or question.strip(), ans.hits, ans, self.llm, self.settings
        ):
            if isinstance(item, Answer):
                item.question, item.read_as = ans.question, ans.read_as
            yield item


def _extractive_stream(ans: Answer) -> Iterator[str | Answer]:
    # the lead line and the quotes in text order: the reading of a follow-up, the lead line, the quotes
    yield from deltas((f"Read as: {ans.read_as}\n" if ans.read_as else "") + ans.text)
    yield ans


def untrusted(snap: IndexSnapshot, trusted: Sequence[str]) -> frozenset[str]:
    """The documents of a snapshot that are neither of a trusted origin ("corpus", "path", "upload")
    nor named by a trusted pattern."""
    origins = snap.catalog.origins()

    def ok(doc: str) -> bool:
        via = origins.get(doc, {}).get("via", "")
        return any(t == via or fnmatch.fnmatchcase(doc, t) for t in trusted)

    return frozenset(d for d in snap.catalog if not ok(d))


def uploaded(snap: IndexSnapshot) -> frozenset[str]:
    """The documents of a snapshot that came in by upload (their origin in the manifest)."""
    return frozenset(d for d, o in snap.catalog.origins().items() if o.get("via") == "upload")


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 2)


def _progress_bar(progress: bool | ProgressFn) -> ProgressFn | None:
    if callable(progress):
        return progress
    if not progress:
        return None
    from tqdm import tqdm

    bar: list[Any] = []

    def cb(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, unit="chunk", desc="embedding", dynamic_ncols=True))
        bar[0].update(done - bar[0].n)

    def close() -> None:
        if bar:
            bar[0].close()

    cb.close = close  # type: ignore[attr-defined]
    return cb
