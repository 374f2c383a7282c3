"""A scripted stand-in for ``rag.engine.Engine``: fixed ranked lists and answers per question."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.errors import NotFoundError
from index.types import Chunk
from rag.types import Answer, Citation, Filters, Hit

Span = tuple[str, int, int]  # (doc, start, end)


class FakeQueryEncoder:
    def __init__(self) -> None:
        self.calls = 0
        self.model_id = "fake/query-encoder"

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        return np.ones((len(texts), 4), dtype=np.float32)


class FakeEngine:
    def __init__(
        self,
        docs: dict[str, str],
        ranked: dict[tuple[str, str], list[Span]] | None = None,
        answers: dict[str, tuple[str, list[Span], bool]] | None = None,
    ) -> None:
        self.docs = docs
        self.ranked = ranked or {}
        self.answers = answers or {}
        self.embedder = FakeQueryEncoder()
        self.search_calls: list[tuple[str, int, str]] = []
        self.ask_calls: list[str] = []

    def chunk(self, doc: str, start: int, end: int) -> Chunk:
        text = self.docs[doc][start:end]
        return Chunk(
            doc=doc, article=0, title="t", source=None, date=None, section="", start=start, end=end, text=text
        )

    def search(
        self, query: str, k: int = 10, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[Hit]:
        self.search_calls.append((query, k, mode))
        spans = self.ranked.get((query, mode), [])[:k]
        return [Hit(chunk=self.chunk(*s), score=1.0 / (i + 1), rank=i + 1) for i, s in enumerate(spans)]

    def ask(self, query: str, filters: Filters | None = None) -> Answer:
        self.ask_calls.append(query)
        text, cited, abstained = self.answers.get(query, ("The documents do not answer this.", [], True))
        cits = []
        for n, (doc, start, end) in enumerate(cited, start=1):
            c = self.chunk(doc, start, end)
            cits.append(
                Citation(
                    n=n,
                    chunk_id=c.id,
                    doc=doc,
                    title="t",
                    source=None,
                    date=None,
                    start=start,
                    end=end,
                    quote=c.text,
                    quote_start=start,
                    quote_end=end,
                )
            )
        return Answer(question=query, text=text, citations=cits, abstained=abstained)

    def document_text(self, doc: str) -> str:
        try:
            return self.docs[doc]
        except KeyError:
            raise NotFoundError(f"no document {doc!r}") from None
