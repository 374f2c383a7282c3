"""Reading documents and finding their structure: articles and blocks with exact character offsets.

Every Article and Block carries ``(start, end)`` offsets into the file text with
``text[start:end] == block.text``, so a citation can point at the exact passage. The shape of a document
is detected from its text, never from its file name:

* digest: page furniture, then repeated (title line, ``SOURCE· YYYY-MM-DD HH:MM`` line, body line of
  `` - `` bullets with ``[n]`` references and inline section headings);
* title/body pairs: an optional ``#tag`` line, then alternating short title lines and long body lines;
* markdown / plain text (also broker reports extracted from PDF): headings set sections, paragraphs,
  bullets, figure captions and tab-separated tables become blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from index.errors import InputError, NotFoundError
from index.extract import EXTRACTED_SUFFIXES, SUPPORTED_SUFFIXES, extract_text, supported_list
from index.types import Article, Block, BlockKind

_WS = " \t\r\n\f\v\u3000\ufeff\u00a0\u200b"


def read_document(path: Path) -> str:
    """The exact file text: strict UTF-8, no newline translation, so offsets index the file as stored;
    for a PDF, Word or HTML file the text extracted from it (``index.extract``), which is what is stored."""
    p = Path(path)
    if not p.exists():
        raise NotFoundError(f"{p} does not exist")
    if p.is_dir():
        raise InputError(f"{p} is a directory, not a document")
    if p.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"{p}: unsupported file type {p.suffix or '(none)'!r}; supported: {supported_list()}"
        )
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"{p} cannot be read: {e.strerror or e}") from e
    if p.suffix.lower() in EXTRACTED_SUFFIXES:
        return extract_text(str(p), data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{p} is not valid UTF-8 (byte offset {e.start}); re-save it as UTF-8") from e


# --------------------------------------------------------------------------------------------- helpers


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span so it neither starts nor ends with whitespace (a BOM counts as whitespace)."""
    while start < end and text[start] in _WS:
        start += 1
    while end > start and text[end - 1] in _WS:
        end -= 1
    return start, end


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line without its terminator; \\n, \\r\\n and \\r all end a line."""
    out: list[tuple[int, int]] = []
    pos = 0
    for m in re.finditer(r"\r\n|\r|\n", text):
        out.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        out.append((pos, len(text)))
    return out


def _nonblank(text: str, lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for s, e in lines:
        s2, e2 = trim_span(text, s, e)
        if s2 < e2:
            out.append((s2, e2))
    return out


def _block(text: str, kind: BlockKind, start: int, end: int, section: str = "", **kw: str) -> Block | None:
    s, e = trim_span(text, start, end)
    if s >= e:
        return None
    return Block(kind=kind, start=s, end=e, text=text[s:e], section=section, **kw)


_TAG_RE = re.compile(r"</?[a-zA-Z][^>]*>")


def clean_label(s: str, limit: int = 120) -> str:
    """A heading/title for display in a context header: no markdown emphasis, HTML tags or bullets."""
    s = _TAG_RE.sub("", s)
    s = s.replace("**", "").replace("__", "")
    s = re.sub(r"^[#\s■□●◆•*\-]+", "", s)
    s = re.sub(r"\s+", " ", s).strip(" :：;；,，。")
    return s[:limit]


# ---------------------------------------------------------------------------------------------- digest

_DATE_LINE_RE = re.compile(
    r"^(?:(?P<src>.*\S)\s*·\s*)?(?P<date>\d{4}-\d{2}-\d{2})(?:[ T]+(?P<time>\d{1,2}:\d{2}))?$"
)
# a run of bracketed references such as [1][3] or [47][48][49], with any punctuation right after it
_REFS_RE = re.compile(r"(?:\[\d+(?:\s*[-–,，]\s*\d+)*\])+[。;；,，.]*")
_MARKER_RE = re.compile(r"(?:(?<=\s)|^)([-*•])(?=\s)")
_MAX_HEADING = 60


def _date_match(line: str) -> re.Match[str] | None:
    m = _DATE_LINE_RE.match(line)
    if m and (m.group("src") or m.group("time")):
        return m
    return None


def _parse_digest(doc: str, text: str, nb: list[tuple[int, int]]) -> list[Article] | None:
    """Digest: [furniture] then (title, 'SOURCE· date time', body...) repeated; None if not this shape."""
    dates = [i for i, (s, e) in enumerate(nb) if i > 0 and _date_match(text[s:e])]
    if not dates or dates[0] > 7:
        return None
    for a, b in zip(dates, dates[1:], strict=False):
        if b - a < 3:  # date, >=1 body line, next title
            return None
    # furniture: the few short lines before the first title
    if any(e - s > 40 for s, e in nb[: dates[0] - 1]):
        return None
    if dates[-1] + 1 >= len(nb) and len(dates) == 1:
        return None
    articles: list[Article] = []
    for k, di in enumerate(dates):
        ts, te = nb[di - 1]
        m = _date_match(text[nb[di][0] : nb[di][1]])
        assert m is not None
        body = nb[di + 1 : (dates[k + 1] - 1) if k + 1 < len(dates) else len(nb)]
        blocks: list[Block] = []
        for bs, be in body:
            blocks.extend(_digest_blocks(text, bs, be))
        end = body[-1][1] if body else nb[di][1]
        date = m.group("date") + ("T" + m.group("time").zfill(5) if m.group("time") else "")
        src = m.group("src")
        articles.append(
            Article(
                doc=doc,
                index=len(articles),
                title=clean_label(text[ts:te], 200) or text[ts:te].strip(),
                source=src.strip() if src else None,
                date=date,
                start=ts,
                end=end,
                blocks=tuple(blocks),
            )
        )
    return articles


def _markers(line: str) -> list[re.Match[str]]:
    """Bullet markers inside a body line, except dashes of ranges like '1/19 - 1/23' or '0.5 - 1'."""
    out = []
    for m in _MARKER_RE.finditer(line):
        if m.group(1) == "-":
            before = line[: m.start()].rstrip()
            after = line[m.end() :].lstrip()
            if before and after and before[-1].isdigit() and after[0].isdigit():
                continue
        out.append(m)
    return out


def _split_heading_tail(piece: str) -> int | None:
    """Where a short section heading starts after the last reference run of a bullet, if there is one."""
    last = None
    for m in _REFS_RE.finditer(piece):
        last = m
    if last is None:
        return None
    tail = piece[last.end() :].strip(_WS)
    if tail and len(tail) <= _MAX_HEADING:
        return last.end()
    return None


def _digest_blocks(text: str, start: int, end: int) -> Iterator[Block]:
    """One body line -> heading / bullet / paragraph blocks; heading phrases set the following section."""
    line = text[start:end]
    marks = _markers(line)
    bounds = [(0, marks[0].start() if marks else len(line), False)]
    for i, m in enumerate(marks):
        bounds.append((m.end(), marks[i + 1].start() if i + 1 < len(marks) else len(line), True))
    section = ""
    for i, (ps, pe, after_marker) in enumerate(bounds):
        followed = i + 1 < len(bounds)
        piece = line[ps:pe]
        content_end, heading_start = pe, None
        if followed:
            cut = _split_heading_tail(piece)
            if cut is not None:
                content_end, heading_start = ps + cut, ps + cut
            elif not after_marker and len(piece.strip(_WS)) <= _MAX_HEADING:
                content_end, heading_start = ps, ps  # the whole lead-in is a heading
        blk = _block(
            text, "bullet" if after_marker else "paragraph", start + ps, start + content_end, section
        )
        if blk:
            yield blk
        if heading_start is not None:
            label = clean_label(line[heading_start:pe])
            hb = _block(text, "heading", start + heading_start, start + pe, label)
            if hb:
                section = label
                yield hb


# ------------------------------------------------------------------------------------ title/body pairs

_HASHTAG_RE = re.compile(r"^#[^\s#]")
_TRAILING_SOURCE_RE = re.compile(r"[（(]([^()（）\n]{1,30})[)）]$")
_SENT_END = "。！？!?”」』"


def _parse_pairs(doc: str, text: str, nb: list[tuple[int, int]]) -> list[Article] | None:
    """Alternating (short title line, long body line) pairs, after an optional '#tag' line."""
    rows = list(nb)
    if rows and _HASHTAG_RE.match(text[rows[0][0] : rows[0][1]]) and rows[0][1] - rows[0][0] <= 30:
        rows = rows[1:]
    if len(rows) < 4 or len(rows) % 2:
        return None
    for i in range(0, len(rows), 2):
        (ts, te), (bs, be) = rows[i], rows[i + 1]
        title = text[ts:te]
        if te - ts > 100 or title.startswith("#") or be - bs < max(150, 2 * (te - ts)):
            return None
        if _date_match(title):
            return None
    articles: list[Article] = []
    for i in range(0, len(rows), 2):
        (ts, te), (bs, be) = rows[i], rows[i + 1]
        body = text[bs:be]
        m = _TRAILING_SOURCE_RE.search(body)
        blocks = [
            b
            for s, e in _numbered_parts(body)
            if (b := _block(text, "paragraph", bs + s, bs + e)) is not None
        ]
        articles.append(
            Article(
                doc=doc,
                index=len(articles),
                title=clean_label(text[ts:te], 200) or text[ts:te],
                source=m.group(1).strip() if m else None,
                date=None,
                start=ts,
                end=be,
                blocks=tuple(blocks),
            )
        )
    return articles


def _numbered_parts(body: str) -> list[tuple[int, int]]:
    """Split a long body at section numbers '01', '02', ... that follow a sentence end (in sequence)."""
    cuts = [0]
    n = 1
    width = 0  # digits of the first number ("01" -> 2): later numbers must be written the same way
    for m in re.finditer(r"(?<![\d.])(\d{1,2})(?![\d.%,、)）])", body):
        if int(m.group(1)) != n or (width and len(m.group(1)) != width):
            continue
        at_start = m.start() == 0
        after_sentence = m.start() > 0 and body[m.start() - 1] in _SENT_END + " "
        if at_start or after_sentence:
            width = width or len(m.group(1))
            if m.start() > 0:
                cuts.append(m.start())
            n += 1
    if n <= 2:  # fewer than two numbered sections: no numbering to speak of
        return [(0, len(body))]
    cuts.append(len(body))
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


# ----------------------------------------------------------------------------- markdown / plain / report

_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET_RE = re.compile(r"^\s*(?:[-*+•■]|\d{1,3}[.)、])\s+")
_CAPTION_RE = re.compile(
    r"^\s*(?:<[^>]+>\s*)*(?:(?:图|表|圖|Figure|Fig\.|Table|Exhibit|Chart)\s*\d+[a-z]?\s*[:：.]"
    r"|(?:资料来源|資料來源|来源|來源|数据来源|Source|Sources|注|Note|Notes)\s*[:：])",
    re.IGNORECASE,
)
_FIGURE_RE = re.compile(r"^\s*(?:<[^>]+>\s*)*(?:图|表|圖|Figure|Fig\.|Table|Exhibit|Chart)\s*\d+", re.I)
_TOC_TITLES = {"目录", "目錄", "contents", "table of contents"}


def _is_table_line(line: str) -> bool:
    return "\t" in line and bool(line.strip(_WS))


def _parse_markdown(doc: str, text: str, lines: list[tuple[int, int]], name: str) -> list[Article]:
    """Generic text: headings set sections; paragraphs, bullets, captions and tables become blocks."""
    items = _md_items(text, lines)  # (kind, start, end, level, label)
    if not items:
        return []
    top = [i for i, it in enumerate(items) if it[0] == "heading" and it[3] == 1]
    groups: list[list[tuple[str, int, int, int, str]]]
    if len(top) >= 2:
        groups = [items[: top[0]]] if top[0] > 0 else []
        groups += [items[a:b] for a, b in zip(top, [*top[1:], len(items)], strict=False)]
    else:
        groups = [items]
    report = any(it[0] == "caption" for it in items)
    source = _report_source(text, items) if report else None
    articles: list[Article] = []
    for g in groups:
        art = _md_article(doc, text, g, len(articles), name, source)
        if art is not None:
            articles.append(art)
    return articles


def _md_items(text: str, lines: list[tuple[int, int]]) -> list[tuple[str, int, int, int, str]]:
    """Classify lines into heading/caption/table/bullet/paragraph items (tables and paragraphs merged)."""
    items: list[tuple[str, int, int, int, str]] = []
    n = len(lines)
    i = 0
    while i < n:
        s, e = lines[i]
        line = text[s:e]
        if not line.strip(_WS):
            i += 1
            continue
        hm = _HEADING_RE.match(line)
        if hm:
            label = clean_label(hm.group(2))
            kind = "caption" if _FIGURE_RE.match(label) else "heading"
            items.append((kind, s, e, len(hm.group(1)), label))
            i += 1
            continue
        if _is_table_line(line):
            j, last = i, i
            while j < n:  # a table may continue across blank lines (page breaks)
                lj = text[lines[j][0] : lines[j][1]]
                if _is_table_line(lj):
                    last = j
                elif lj.strip(_WS):
                    break
                j += 1
            if last > i:
                items.append(("table", s, lines[last][1], 0, ""))
                i = last + 1
                continue
        if _CAPTION_RE.match(line):
            items.append(("caption", s, e, 0, clean_label(line)))
            i += 1
            continue
        kind = "bullet" if _BULLET_RE.match(line) else "paragraph"
        j = i + 1
        while j < n:  # continuation lines: no blank line, no new structure in between
            lj = text[lines[j][0] : lines[j][1]]
            if (
                not lj.strip(_WS)
                or _HEADING_RE.match(lj)
                or _BULLET_RE.match(lj)
                or _CAPTION_RE.match(lj)
                or _is_table_line(lj)
            ):
                break
            j += 1
        items.append((kind, s, lines[j - 1][1], 0, ""))
        i = j
    return items


def _report_source(text: str, items: list[tuple[str, int, int, int, str]]) -> str | None:
    """A broker report's house name: the first segment of a 'House | ... | ...' banner line."""
    first = next((it for it in items if it[0] != "heading"), None)
    if first is None:
        return None
    line = text[first[1] : first[2]].split("\n")[0]
    if "|" not in line:
        return None
    head = line.split("|")[0].strip(_WS)
    return head if 0 < len(head) <= 30 else None


def _md_article(
    doc: str,
    text: str,
    items: list[tuple[str, int, int, int, str]],
    index: int,
    name: str,
    source: str | None,
) -> Article | None:
    title = next((it[4] for it in items if it[0] == "heading" and it[4]), "")
    skip_first = False
    if not title:
        kind, s, e, _, _ = items[0]
        first_line = text[s:e].split("\n")[0].strip(_WS)
        title = clean_label(first_line, 80) or first_line[:80]
        # a short first line set apart by a blank line is a title, not body text (e.g. CMRC files)
        single_line = "\n" not in text[s:e] and "\r" not in text[s:e]
        if (
            kind == "paragraph"
            and single_line
            and len(items) > 1
            and len(first_line) <= 80
            and first_line[-1:] not in "。.!?！？:：;；,，"
        ):
            skip_first = True
    title = title or name
    blocks: list[Block] = []
    section = ""
    caption = ""
    for k, (kind, s, e, _level, label) in enumerate(items):
        if skip_first and k == 0:
            continue
        b: Block | None
        if kind == "heading":
            section = label
            b = _block(text, "heading", s, e, section)
        elif kind == "caption":
            if _FIGURE_RE.match(label):
                caption = label
            b = _block(text, "caption", s, e, section)
        elif kind == "table":
            if section.casefold() in _TOC_TITLES:
                b = _block(text, "paragraph", s, e, section)
            else:
                b = _block(text, "table", s, e, section)
                if b is not None:
                    header = b.text.split("\n")[0].rstrip(_WS)
                    b = replace(b, caption=caption, header=header)
                caption = ""
        else:
            b = _block(text, "bullet" if kind == "bullet" else "paragraph", s, e, section)
        if b is not None:
            blocks.append(b)
    s0, _ = trim_span(text, items[0][1], items[0][2])
    _, e0 = trim_span(text, items[-1][1], items[-1][2])
    if not blocks and not skip_first:
        return None
    return Article(
        doc=doc, index=index, title=title, source=source, date=None, start=s0, end=e0, blocks=tuple(blocks)
    )


# ------------------------------------------------------------------------------------------- dispatch


def parse_document(doc: str, text: str, name: str = "") -> list[Article]:
    """Articles (with blocks) of one document; [] for an empty one. Never raises on odd text."""
    if not text.strip(_WS):
        return []
    lines = _lines(text)
    nb = _nonblank(text, lines)
    arts = _parse_digest(doc, text, nb)
    if arts is None:
        arts = _parse_pairs(doc, text, nb)
    if arts is None:
        arts = _parse_markdown(doc, text, lines, name or doc)
    return arts
