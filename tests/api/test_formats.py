"""PDF, Word and web-page uploads: indexed from their text, cited with the page, refused with a reason."""

from __future__ import annotations

import pytest

from tests.index.test_extract import PAGE1, PAGE2, PAGE_HTML, chinese_pdf, scanned_pdf, word_file


def test_a_chinese_pdf_is_answered_with_the_page_and_the_exact_quote(writable):
    c, _ = writable
    pdf = chinese_pdf([PAGE1, PAGE2])
    r = c.post("/documents?wait=true", files={"file": ("cmbi.pdf", pdf, "application/pdf")})
    assert r.status_code == 201, r.text
    a = c.post("/ask", json={"question": "豆包大模型日均Tokens使用量达到多少?"}).json()
    assert not a["abstained"]
    cite = next(x for x in a["citations"] if x["doc"] == "cmbi.pdf")
    assert "30万亿" in cite["quote"] and cite["page"] == 2
    # the quote's offsets point into the stored text, which the documents route returns exactly
    span = c.get(f"/documents/cmbi.pdf?start={cite['quote_start']}&end={cite['quote_end']}").json()
    assert span["text"] == cite["quote"]
    # a text file's citations carry no page
    assert all(x["page"] is None for x in a["citations"] if x["doc"] != "cmbi.pdf")


def test_word_and_web_pages_are_indexed_from_their_text(writable):
    c, _ = writable
    for name, data in (("chips.docx", word_file()), ("meta.html", PAGE_HTML)):
        assert c.post("/documents?wait=true", files={"file": (name, data)}).status_code == 201
    assert "320TFLOPS" in c.get("/documents/chips.docx").json()["text"]
    page = c.get("/documents/meta.html").json()["text"]
    assert "$115 billion to $135 billion" in page and "Log in" not in page


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("scan.pdf", scanned_pdf(), "no text layer"),
        ("broken.pdf", b"%PDF-1.4 garbage", "not a readable PDF"),
        ("broken.docx", b"PK\x03\x04 garbage", "not a readable Word"),
    ],
)
def test_unreadable_files_are_a_400_and_leave_the_index_alone(writable, name, data, needle):
    c, _ = writable
    before = c.get("/documents").json()
    r = c.post("/documents", files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == 400 and needle in r.json()["error"]["message"]
    assert c.get("/documents").json() == before
