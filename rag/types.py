"""The data that flows out of the retrieval and answering stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from index.extract import page_at
from index.types import Chunk


@dataclass
class Hit:
    """A retrieved chunk with its fused score and the per-stage scores that produced it."""

    chunk: Chunk
    score: float
    rank: int
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "rank": self.rank,
            "score": self.score,
            "scores": self.scores,
            "chunk_id": c.id,
            "doc": c.doc,
            "article": c.article,
            "title": c.title,
            "source": c.source,
            "date": c.date,
            "section": c.section,
            "start": c.start,
            "end": c.end,
            "text": c.text,
        }


@dataclass
class Citation:
    """A numbered source of an answer: the chunk it comes from and the exact quoted span.

    ``start``/``end`` are the chunk's offsets in the document text; ``quote_start``/``quote_end`` the
    quoted sentence's, so ``doc_text[quote_start:quote_end] == quote``.
    """

    n: int
    chunk_id: str
    doc: str
    title: str
    source: str | None
    date: str | None
    start: int
    end: int
    quote: str
    quote_start: int
    quote_end: int
    page: int | None = None  # the page of a PDF the quote starts on (1-based); None for text without pages
    provenance: str | None = None  # "uploaded file x.txt": the outlet it names is the upload's own claim

    @classmethod
    def of(
        cls, n: int, chunk: Chunk, quote_start: int, quote_end: int, quote: str, doc_text: str = ""
    ) -> Citation:
        """Cite ``quote`` (``doc_text[quote_start:quote_end]``) inside ``chunk``."""
        return cls(
            n=n,
            chunk_id=chunk.id,
            doc=chunk.doc,
            title=chunk.title,
            source=chunk.source,
            date=chunk.date,
            start=chunk.start,
            end=chunk.end,
            quote=quote,
            quote_start=quote_start,
            quote_end=quote_end,
            page=page_at(doc_text, quote_start),
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Answer:
    """An answer with ``[n]`` markers in ``text`` that refer to ``citations``; or an abstention."""

    question: str
    text: str
    citations: list[Citation]
    abstained: bool
    hits: list[Hit] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    mode: str = "extractive"  # "extractive" or "llm"
    confidence: float | None = None  # the abstention model's probability that the evidence answers
    features: dict[str, float] = field(default_factory=dict)  # what that model weighed
    lead: str | None = None  # the key figure in the question's language, the text's first line
    read_as: str | None = None  # a follow-up question as it was read against the conversation

    def to_dict(self, include_hits: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "lead": self.lead,
            "read_as": self.read_as,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": self.timings_ms,
            "mode": self.mode,
        }
        if include_hits:
            d["hits"] = [h.to_dict() for h in self.hits]
        return d


@dataclass(frozen=True)
class Filters:
    """Optional restrictions on retrieval. Dates compare as ISO strings (``YYYY-MM-DD`` prefixes)."""

    sources: tuple[str, ...] = ()
    docs: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None

    def accepts(self, chunk: Chunk) -> bool:
        if self.sources and (chunk.source or "") not in self.sources:
            return False
        if self.docs and chunk.doc not in self.docs:
            return False
        if self.date_from or self.date_to:
            if not chunk.date:
                return False
            day = chunk.date[:10]
            if self.date_from and day < self.date_from[:10]:
                return False
            if self.date_to and day > self.date_to[:10]:
                return False
        return True

    @property
    def empty(self) -> bool:
        return not (self.sources or self.docs or self.date_from or self.date_to)


@dataclass(frozen=True)
class DocumentInfo:
    """An indexed document: its id (path relative to the corpus root), size and article/chunk counts."""

    doc: str
    chars: int
    sha256: str
    articles: int
    chunks: int
    titles: tuple[str, ...] = ()
    origin: dict[str, str] | None = None  # how it arrived (see ``index.build.Source``)

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "id": self.doc,
            "chars": self.chars,
            "sha256": self.sha256,
            "articles": self.articles,
            "chunks": self.chunks,
            "titles": list(self.titles),
        }
