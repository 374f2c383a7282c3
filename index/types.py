"""The data that flows out of the indexing stage.

Every piece of text carries (start, end) character offsets into the original file text, so that
``doc_text[start:end]`` is exactly the text: citations can then open the exact source passage, and the
evaluation can match chunks against evidence quotes by overlap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "bullet", "table", "caption"]


@dataclass(frozen=True)
class Block:
    """A structural unit of an article body (paragraph, bullet, heading, table, figure caption).

    ``text == doc_text[start:end]``. For tables, ``header`` is the column-header row (also a span of the
    document) and ``caption`` the nearest figure/table caption text, so that a table split by rows can
    carry both as context.
    """

    kind: BlockKind
    start: int
    end: int
    text: str
    section: str = ""
    caption: str = ""
    header: str = ""


@dataclass(frozen=True)
class Article:
    """One article of a document: a digest entry, a title/body pair, or a whole report."""

    doc: str
    index: int
    title: str
    source: str | None
    date: str | None  # ISO 8601: "YYYY-MM-DDTHH:MM" or "YYYY-MM-DD"
    start: int  # span of the whole article (title line through body) in the document text
    end: int
    blocks: tuple[Block, ...] = field(default=())


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: a contiguous span of one article, never crossing articles.

    ``context`` is a short header (title, source, date, section; for table rows also the caption and
    column header) used for embedding and lexical matching only. It is never displayed as quoted text.
    """

    doc: str
    article: int
    title: str
    source: str | None
    date: str | None
    section: str
    start: int
    end: int
    text: str
    context: str = ""

    @property
    def id(self) -> str:
        return f"{self.doc}#{self.start}-{self.end}"

    @property
    def embed_text(self) -> str:
        """What the embedder and the lexical index see: the context header, then the text."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    @property
    def content_hash(self) -> str:
        """Identifies the embedded content: an unchanged hash means an unchanged vector."""
        return hashlib.sha256(self.embed_text.encode("utf-8")).hexdigest()
