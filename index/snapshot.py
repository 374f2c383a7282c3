"""A loaded, read-only index generation: what retrieval reads.

A snapshot never changes after loading. Updates build a new generation and load a new snapshot, so
readers holding the old one keep working until they finish.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.build import check_manifest, current_generation, read_manifest, row_chunk
from index.errors import NotFoundError
from index.lexical import LexicalIndex, load_lexical
from index.normalize import detect_lang
from index.store import VectorStore, load_vector_store
from index.types import Chunk


@dataclass
class DocRecord:
    doc: str
    text: str
    sha256: str
    articles: int
    titles: tuple[str, ...]
    chunks: int


@dataclass
class IndexSnapshot:
    generation: str
    manifest: dict
    chunks: list[Chunk]  # position == id in the vector store and the lexical index
    store: VectorStore
    lexical: LexicalIndex
    documents: dict[str, DocRecord]
    df_text: dict[str, int]  # document frequency of each token over chunks (for IDF weighting of sentences)
    df_gloss: dict[str, int]
    # per chunk, True where it is written in Chinese: lexical scores are compared within one language
    chinese: np.ndarray

    @property
    def size(self) -> int:
        return len(self.chunks)

    def document(self, doc: str) -> DocRecord:
        try:
            return self.documents[doc]
        except KeyError:
            raise NotFoundError(f"no document {doc!r} in the index") from None

    def close(self) -> None:
        close = getattr(self.store, "close", None)
        if callable(close):
            close()


def load_snapshot(index_dir: Path, model_id: str, dim: int) -> IndexSnapshot:
    """Load the live generation; refuses an index built with another model (IndexMismatchError)."""
    gen = current_generation(index_dir)
    if gen is None:
        raise NotFoundError(f"no index at {index_dir}; build one with `rag index PATH`")
    manifest = read_manifest(gen)
    check_manifest(manifest, model_id, dim, None, index_dir)
    db = sqlite3.connect(str(gen / "chunks.sqlite"))
    db.row_factory = sqlite3.Row
    try:
        chunks: list[Chunk] = []
        counts: dict[str, int] = {}
        df_text: Counter[str] = Counter()
        df_gloss: Counter[str] = Counter()
        for r in db.execute(
            'SELECT id, doc, article, title, source, date, section, start, "end", text, context, tokens, gloss FROM chunks ORDER BY id'
        ):
            if r["id"] != len(chunks):
                raise NotFoundError(f"index at {gen} is damaged (chunk ids not contiguous); rebuild it")
            chunks.append(row_chunk(r))
            df_text.update(set(r["tokens"].split()))
            df_gloss.update(set(r["gloss"].split()))
            counts[r["doc"]] = counts.get(r["doc"], 0) + 1
        docs = {
            r["doc"]: DocRecord(
                r["doc"],
                r["text"],
                r["sha256"],
                r["articles"],
                tuple(json.loads(r["titles"])),
                counts.get(r["doc"], 0),
            )
            for r in db.execute("SELECT doc, text, sha256, articles, titles FROM documents")
        }
    finally:
        db.close()
    store = load_vector_store(
        manifest.get("vector_store", "faiss"), dim, gen / "vectors", manifest.get("vector_index")
    )
    return IndexSnapshot(
        gen.name,
        manifest,
        chunks,
        store,
        load_lexical(gen / "lexical"),
        docs,
        dict(df_text),
        dict(df_gloss),
        np.fromiter((detect_lang(c.text) == "zh" for c in chunks), dtype=bool, count=len(chunks)),
    )
