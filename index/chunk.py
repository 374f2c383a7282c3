"""Structure-aware chunking: articles' blocks -> retrievable passages with exact offsets.

A chunk never crosses an article and is always one contiguous span of the document
(``text[chunk.start:chunk.end] == chunk.text``), so it can be quoted and cited as is. Consecutive blocks
of one section are packed greedily up to ``max_tokens`` (counting the context header, because that is
what the embedder sees); a block that is too large is split at sentence boundaries and a table by whole
rows, with its caption and column header repeated in the context instead of the text.

Packing stays within ``max_tokens``; the one exception is a section heading glued to the first piece of
an oversized block (a lone heading would be a useless chunk), which may go up to ``hard_max_tokens``.
Nothing ever exceeds ``hard_max_tokens`` (the embedder's window): the last resort is a character split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from index.parse import trim_span
from index.types import Article, Block, Chunk

CountTokens = Callable[[str], int]

SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", ". ", "; ", ",", "，", " ", ""]
_LABEL_MAX = 60
_HEADER_MAX = 120
_BYLINE_MAX = 300  # the longest title + byline glued to an article's first chunk


def _short(s: str, limit: int = _LABEL_MAX) -> str:
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def context_header(article: Article, section: str) -> str:
    """``title · source · YYYY-MM-DD · section`` (missing parts omitted; section omitted if = title)."""
    parts = [_short(article.title)]
    if article.source:
        parts.append(_short(article.source))
    if article.date:
        parts.append(article.date[:10])
    if section and section != article.title:
        parts.append(_short(section))
    return " · ".join(p for p in parts if p)


def _table_context(base: str, block: Block) -> str:
    lines = [base] if base else []
    if block.caption:
        lines.append(_short(block.caption))
    if block.header:
        cells = [c.strip() for c in block.header.split("\t") if c.strip()]
        lines.append(_short(" | ".join(cells), _HEADER_MAX))
    return "\n".join(lines)


class _Chunker:
    """Holds the per-call settings so the helpers stay small; one instance per ``chunk_articles`` call."""

    def __init__(self, text: str, count_tokens: CountTokens, max_tokens: int, hard_max_tokens: int) -> None:
        self.text = text
        self.count = count_tokens
        self.max = max_tokens
        self.hard = max(hard_max_tokens, max_tokens)

    def cost(self, context: str, start: int, end: int) -> int:
        body = self.text[start:end]
        return self.count(f"{context}\n{body}" if context else body)

    # -- splitting ---------------------------------------------------------------------------------

    def split_span(self, context: str, start: int, end: int) -> list[tuple[int, int]]:
        """Exact sub-spans of [start, end) that each fit ``max_tokens`` with the context (or hard max)."""
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        budget = max(8, self.max - self.count(context) + self.count(""))
        splitter = RecursiveCharacterTextSplitter(
            separators=SEPARATORS,
            keep_separator="end",
            chunk_size=budget,
            chunk_overlap=0,
            length_function=self.count,
            strip_whitespace=True,
        )
        sub = self.text[start:end]
        pieces: list[tuple[int, int]] = []
        pos = 0
        for piece in splitter.split_text(sub):
            i = sub.find(piece, pos)
            if i < 0:  # should not happen with zero overlap; fall back to a plain character split
                return self.hard_split(context, start, end)
            pieces.append((start + i, start + i + len(piece)))
            pos = i + len(piece)
        # the splitter may leave tiny pieces (a lone "."): re-pack neighbours, then enforce the hard limit
        out: list[tuple[int, int]] = []
        for s, e in self.pack(context, pieces):
            if self.cost(context, s, e) > self.hard:
                out.extend(self.hard_split(context, s, e))
            else:
                out.append((s, e))
        return out

    def hard_split(self, context: str, start: int, end: int) -> list[tuple[int, int]]:
        """Longest prefixes that fit ``max_tokens`` (binary search on characters): the last resort."""
        out = []
        s = start
        while s < end:
            s, _ = trim_span(self.text, s, end)
            if s >= end:
                break
            lo, hi = s + 1, end
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if self.cost(context, s, mid) <= self.max:
                    lo = mid
                else:
                    hi = mid - 1
            a, b = trim_span(self.text, s, lo)
            if a < b:
                out.append((a, b))
            s = lo
        return out

    def pack(self, context: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        """Greedily merge consecutive spans while the merged span still fits ``max_tokens``."""
        out: list[tuple[int, int]] = []
        cur: tuple[int, int] | None = None
        for s, e in spans:
            if cur is not None and self.cost(context, cur[0], e) <= self.max:
                cur = (cur[0], e)
                continue
            if cur is not None:
                out.append(cur)
            cur = (s, e)
        if cur is not None:
            out.append(cur)
        return out

    # -- blocks ------------------------------------------------------------------------------------

    def table_spans(
        self, context: str, block: Block, lead: tuple[int, int] | None = None
    ) -> list[tuple[int, int]]:
        """Whole rows per chunk; a single oversized row is split like text.

        ``lead`` is the span of a caption/heading right before the table: it joins the first rows, so
        the caption stays quotable without becoming a chunk of its own.
        """
        rows: list[tuple[int, int]] = [lead] if lead else []
        pos = block.start
        for line in block.text.split("\n"):
            s, e = trim_span(self.text, pos, pos + len(line))
            if s < e:
                rows.append((s, e))
            pos += len(line) + 1
        out: list[tuple[int, int]] = []
        for s, e in self.pack(context, rows):
            if self.cost(context, s, e) > self.max:
                out.extend(self.split_span(context, s, e))
            else:
                out.append((s, e))
        return out

    def article_spans(self, article: Article) -> list[tuple[str, str, int, int]]:
        """(section, context, start, end) for every chunk of one article, in document order."""
        out: list[tuple[str, str, int, int]] = []
        cur: list[Block] = []

        def flush() -> None:
            if cur:
                sec = cur[-1].section
                out.append((sec, context_header(article, sec), cur[0].start, cur[-1].end))
                cur.clear()

        after_table = False
        for b in article.blocks:
            ctx = context_header(article, b.section)
            if b.kind == "table":
                lead = None
                if cur and all(c.kind in ("heading", "caption") for c in cur):
                    lead = (cur[0].start, cur[-1].end)
                    cur.clear()
                flush()
                tctx = _table_context(ctx, b)
                out.extend((b.section, tctx, s, e) for s, e in self.table_spans(tctx, b, lead))
                after_table = True
                continue
            if after_table and b.kind == "caption" and out:
                # a "source:"/"note:" line right after a table belongs with its last rows
                sec, tctx, s0, _ = out[-1]
                if self.cost(tctx, s0, b.end) <= self.max:
                    out[-1] = (sec, tctx, s0, b.end)
                    continue
            after_table = False
            headings_only = all(c.kind == "heading" for c in cur)
            if cur and cur[-1].section != b.section and not headings_only:
                flush()
            if cur and self.cost(ctx, cur[0].start, b.end) <= self.max:
                cur.append(b)
                continue
            if cur and headings_only:
                # a heading never stays alone: it joins the first piece of its (oversized) first block
                # when that stays under the hard limit, else it is a small chunk of its own
                start = cur[0].start
                pieces = self.split_span(ctx, b.start, b.end) if b.kind != "table" else []
                if pieces and self.cost(ctx, start, pieces[0][1]) <= self.hard:
                    pieces[0] = (start, pieces[0][1])
                    cur.clear()
                else:
                    flush()
                    if not pieces:
                        pieces = [(b.start, b.end)]
                out.extend((b.section, ctx, s, e) for s, e in pieces)
                continue
            flush()
            if self.cost(ctx, b.start, b.end) <= self.max:
                cur.append(b)
            else:
                out.extend((b.section, ctx, s, e) for s, e in self.split_span(ctx, b.start, b.end))
        flush()
        return out


def _with_byline(
    text: str, art: Article, s: int, e: int, ctx: str, count_tokens: CountTokens, hard_max: int
) -> int:
    """Start an article's first chunk at the article itself, so its title and byline (outlet, date)
    are part of a retrievable, citable span: "which outlet published this, and when?" is answered
    by that line and nothing else."""
    if not (art.start < s <= art.start + _BYLINE_MAX):
        return s
    head = text[art.start : s]
    if not head.strip() or count_tokens(ctx + "\n" + text[art.start : e]) > hard_max:
        return s
    return trim_span(text, art.start, e)[0]


def chunk_articles(
    articles: Sequence[Article],
    text: str,
    count_tokens: CountTokens,
    max_tokens: int = 200,
    hard_max_tokens: int = 512,
) -> list[Chunk]:
    """Chunks of all articles of one document (``text`` is the exact document text)."""
    ch = _Chunker(text, count_tokens, max_tokens, hard_max_tokens)
    chunks: list[Chunk] = []
    for art in articles:
        first = True
        for section, ctx, s0, e0 in ch.article_spans(art):
            s, e = trim_span(text, s0, e0)
            if s >= e:
                continue
            if first:
                first = False
                s = _with_byline(text, art, s, e, ctx, count_tokens, hard_max_tokens)
            chunks.append(
                Chunk(
                    doc=art.doc,
                    article=art.index,
                    title=art.title,
                    source=art.source,
                    date=art.date,
                    section=section,
                    start=s,
                    end=e,
                    text=text[s:e],
                    context=ctx,
                )
            )
    return chunks
