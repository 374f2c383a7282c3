"""Text out of PDF, Word and HTML files, so analysts' broker reports and saved pages can be indexed.

The extracted text is what the index stores and what citations point into: ``GET /documents/{id}
?start=&end=`` returns the exact quote whatever the original format. PDF pages are kept apart by a
form feed after each page (the plain-text convention for a page break), so a citation's page number
is the count of form feeds before it (``page_at``) and needs nothing stored beside the text. Word
headings become Markdown headings and tables tab-separated rows, the shapes the parser already knows;
HTML is reduced to its main text (navigation, scripts and boilerplate dropped) by trafilatura.
"""

from __future__ import annotations

import io
import re

from index.errors import InputError

PAGE_BREAK = "\f"
TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
EXTRACTED_SUFFIXES = frozenset({".pdf", ".docx", ".html", ".htm"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | EXTRACTED_SUFFIXES


def supported_list() -> str:
    return ", ".join(sorted(SUPPORTED_SUFFIXES))


def suffix_of(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > name.rfind("/") else ""


def extract_text(name: str, data: bytes) -> str:
    """The text of a .pdf, .docx or .html file; an ``InputError`` that says why when there is none
    (a scanned PDF without a text layer, a damaged file)."""
    suffix = suffix_of(name)
    if suffix == ".pdf":
        return _pdf(name, data)
    if suffix == ".docx":
        return _docx(name, data)
    if suffix in (".html", ".htm"):
        return _html(name, data)
    raise InputError(f"{name}: unsupported file type {suffix or '(none)'!r}; supported: {supported_list()}")


def page_at(text: str, offset: int) -> int | None:
    """The page an offset of an extracted PDF's text is on (1-based); None for text without pages."""
    if PAGE_BREAK not in text:
        return None
    return text.count(PAGE_BREAK, 0, offset) + 1


def _pdf(name: str, data: bytes) -> str:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        raise InputError(f"{name} is not a readable PDF ({e})") from None
    try:
        pages = []
        for page in pdf:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_bounded().replace("\r\n", "\n").replace("\r", "\n"))
            textpage.close()
            page.close()
    finally:
        pdf.close()
    if not any(p.strip() for p in pages):
        raise InputError(f"{name}: the PDF has no text layer (a scan?); OCR is not supported")
    # no form feed inside a page: each one marks a page's end
    return "".join(p.replace(PAGE_BREAK, " ").rstrip() + "\n" + PAGE_BREAK + "\n" for p in pages)


def _docx(name: str, data: bytes) -> str:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises zipfile, KeyError and XML errors alike for a bad file
        raise InputError(f"{name} is not a readable Word (.docx) file ({type(e).__name__})") from None
    blocks: list[str] = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(child, document)
            text = para.text.strip()
            if not text:
                continue
            style = (para.style.name if para.style is not None else "") or ""
            level = re.match(r"Heading (\d)", style)
            if style == "Title":
                text = "# " + text
            elif level:
                text = "#" * min(int(level.group(1)) + (1 if _has_title(document) else 0), 6) + " " + text
            blocks.append(text)
        elif tag == "tbl":
            rows = ["\t".join(c.text.strip() for c in row.cells) for row in Table(child, document).rows]
            blocks.append("\n".join(r for r in rows if r.strip()))
    text = "\n\n".join(b for b in blocks if b)
    if not text.strip():
        raise InputError(f"{name}: the document is empty")
    return text + "\n"


def _has_title(document: object) -> bool:
    return any(p.style is not None and p.style.name == "Title" for p in document.paragraphs)  # type: ignore[attr-defined]


def _html(name: str, data: bytes) -> str:
    import trafilatura

    text = trafilatura.extract(
        data, output_format="markdown", include_tables=True, include_comments=False, favor_recall=True
    )
    if not text or not text.strip():
        raise InputError(f"{name}: no main text found in the page")
    meta = trafilatura.extract_metadata(data)
    title = meta.title.strip() if meta is not None and meta.title else ""
    if title and not text.lstrip().startswith("#") and title not in text[:200]:
        text = f"# {title}\n\n{text}"
    return text.strip() + "\n"
