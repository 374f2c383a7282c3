"""PDF, Word and HTML intake: the extracted text, page numbers, and clear refusals."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from index.errors import InputError
from index.extract import PAGE_BREAK, extract_text, page_at

PAGE1 = ["招银国际 AI 主题研究", "中国AI推理芯片市场规模将增长至2029年的1.38万亿元。"]
PAGE2 = ["豆包的使用情况", "豆包大模型日均Tokens使用量2025年9月已超30万亿。"]


def chinese_pdf(pages: list[list[str]]) -> bytes:
    """A PDF with a text layer in a CJK font (reportlab's built-in STSong-Light)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for lines in pages:
        c.setFont("STSong-Light", 12)
        for i, line in enumerate(lines):
            c.drawString(72, 750 - 20 * i, line)
        c.showPage()
    c.save()
    return buf.getvalue()


def scanned_pdf() -> bytes:
    """A page with a drawing and no text: what a scan without OCR looks like."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.rect(72, 600, 300, 100, fill=1)
    c.showPage()
    c.save()
    return buf.getvalue()


def word_file() -> bytes:
    import docx

    d = docx.Document()
    d.add_heading("AI 芯片对比", level=1)
    d.add_paragraph("华为昇腾910B采用7nm工艺。")
    t = d.add_table(rows=2, cols=3)
    for i, row in enumerate([("芯片", "工艺", "算力"), ("昇腾 910B", "7nm", "320TFLOPS")]):
        for j, v in enumerate(row):
            t.cell(i, j).text = v
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


PAGE_HTML = b"""<html><head><title>Meta capex outlook</title></head><body>
<nav><a href="/">Home</a> | <a href="/markets">Markets</a> | <a href="/login">Log in</a></nav>
<article><h1>Meta raises its spending plan</h1>
<p>Meta expects 2026 capital expenditures of $115 billion to $135 billion, nearly double the 2025 level.</p>
<p>The company said the spending supports training of its next models and growing inference demand.</p>
</article>
<footer>Copyright 2026 Example News. All rights reserved.</footer>
<script>var tracking = "do not index me";</script>
</body></html>"""


def test_a_pdf_keeps_its_pages_apart_and_its_text_in_reading_order() -> None:
    text = extract_text("report.pdf", chinese_pdf([PAGE1, PAGE2]))
    assert text.count(PAGE_BREAK) == 2
    assert text.index(PAGE1[1]) < text.index(PAGE2[1])
    assert page_at(text, text.index("1.38万亿元")) == 1
    assert page_at(text, text.index("30万亿")) == 2
    assert page_at("plain text", 3) is None


def test_a_pdf_without_text_is_refused_with_a_reason() -> None:
    with pytest.raises(InputError, match="no text layer.*OCR is not supported"):
        extract_text("scan.pdf", scanned_pdf())
    with pytest.raises(InputError, match="not a readable PDF"):
        extract_text("broken.pdf", b"%PDF-1.4 this is not really a pdf")


def test_a_word_file_keeps_headings_and_tables() -> None:
    text = extract_text("chips.docx", word_file())
    assert text.startswith("# AI 芯片对比\n\n华为昇腾910B采用7nm工艺。")
    assert "芯片\t工艺\t算力\n昇腾 910B\t7nm\t320TFLOPS" in text
    with pytest.raises(InputError, match="not a readable Word"):
        extract_text("broken.docx", b"PK\x03\x04 not a zip")


def test_a_web_page_is_reduced_to_its_main_text() -> None:
    text = extract_text("meta.html", PAGE_HTML)
    assert "$115 billion to $135 billion" in text
    assert "Log in" not in text and "tracking" not in text and "All rights reserved" not in text
    with pytest.raises(InputError, match="no main text"):
        extract_text("empty.html", b"<html><head><script>track()</script></head><body> </body></html>")


def test_other_types_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unsupported file type '.xlsx'.*\\.docx.*\\.pdf"):
        extract_text("sheet.xlsx", b"")
