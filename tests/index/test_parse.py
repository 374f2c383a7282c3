"""Parsing: exact spans for every shape, article metadata of the seed files, odd inputs, read errors."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from index.errors import InputError, NotFoundError
from index.parse import parse_document, read_document
from index.types import Article

ROOT = Path(__file__).resolve().parents[2]
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
CMRC_DIR = Path(__file__).resolve().parents[3] / "shared" / "external" / "cmrc2018" / "corpus"
FURNITURE = ("Workflow", "icon", "搜索文档")


def _seed(prefix: str) -> Path:
    return next(p for p in SEEDS if p.name.startswith(prefix))


def _parse(path: Path) -> tuple[str, list[Article]]:
    text = read_document(path)
    return text, parse_document(path.stem, text)


def _check_spans(text: str, articles: list[Article]) -> None:
    prev_end = -1
    for i, a in enumerate(articles):
        assert a.index == i
        assert 0 <= a.start < a.end <= len(text)
        assert a.start >= prev_end, "articles overlap"
        prev_end = a.end
        last = a.start
        for b in a.blocks:
            assert text[b.start : b.end] == b.text
            assert b.text and b.text == b.text.strip()
            assert a.start <= b.start and b.end <= a.end, "block outside its article"
            assert b.start >= last, "blocks out of order or overlapping"
            last = b.end


def test_seed_files_present() -> None:
    assert len(SEEDS) == 5


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name[:3])
def test_seed_spans_round_trip(path: Path) -> None:
    text, articles = _parse(path)
    assert articles
    _check_spans(text, articles)


@pytest.mark.parametrize(("prefix", "count"), [("000", 10), ("001", 8), ("002", 10), ("003", 3), ("004", 1)])
def test_article_counts(prefix: str, count: int) -> None:
    _, articles = _parse(_seed(prefix))
    assert len(articles) == count


def test_digest_metadata_002() -> None:
    text, arts = _parse(_seed("002"))
    first = arts[0]
    assert first.title.startswith("港股异动 | 光通信概念股涨幅居前")
    assert (first.source, first.date) == ("智通财经网", "2026-02-03T14:56")
    assert arts[1].source == "The Economic Times"
    assert arts[1].title.startswith("We will not allow you to share")
    date_only = [a for a in arts if a.source is None]
    assert [a.title for a in date_only] == ["Crawdbot真的是全能的AI助手吗?", "强CALL算力的逻辑是什么"]
    assert all(a.date == "2026-02-03T10:05" for a in date_only)
    # the article span starts at its title line and the date line is not a block
    assert text[first.start :].startswith("港股异动")
    assert not any("2026-02-03 14:56" in b.text for b in first.blocks)


def test_digest_sections_and_bullets_000() -> None:
    _, arts = _parse(_seed("000"))
    a = arts[0]
    assert (a.title, a.source, a.date) == ("又见印奇", "36氪", "2026-01-27T08:25")
    sections = [b.section for b in a.blocks if b.kind == "heading"]
    assert sections[:2] == ["文章核心观点", "AI 1.0时代的教训与反思"]
    bullets = [b for b in a.blocks if b.kind == "bullet"]
    assert bullets[0].text.startswith("旷视科技联合创始人印奇") and bullets[0].text.endswith(
        "[1][3][4][6][7]"
    )
    assert bullets[0].section == "文章核心观点"
    assert bullets[1].section == "AI 1.0时代的教训与反思"
    assert not bullets[1].text.startswith("-")


def test_digest_range_dash_is_not_a_bullet() -> None:
    _, arts = _parse(_seed("000"))
    # "本周(1/19 - 1/23)" must stay inside one block
    assert any("(1/19 - 1/23)" in b.text for b in arts[2].blocks)


def test_digest_003_has_short_furniture() -> None:
    _, arts = _parse(_seed("003"))
    assert arts[0].title == "国产芯片的下半场,从撕掉「中国英伟达」的标签开始"
    assert (arts[2].source, arts[2].date) == ("36氪", "2025-07-16T08:12")


@pytest.mark.parametrize("prefix", ["000", "002", "003"])
def test_furniture_in_no_block(prefix: str) -> None:
    _, arts = _parse(_seed(prefix))
    for a in arts:
        for b in a.blocks:
            assert b.text not in FURNITURE
            assert not b.text.startswith(("Workflow", "搜索文档"))
        assert a.title not in FURNITURE


def test_pairs_001() -> None:
    text, arts = _parse(_seed("001"))
    a = arts[0]
    assert a.title == "Gemini登頂第一,中國五巨頭誰能扛起“中國Google”的AI大旗?"
    assert a.date is None
    assert a.source == "單仁行"  # stated by the text itself: the trailing "(單仁行)"
    assert [b.text[:2] for b in a.blocks] == ["01", "02", "03", "04", "05"]
    assert all(b.kind == "paragraph" for b in a.blocks)
    assert "#百度" not in {x.title for x in arts}
    assert arts[3].title == "大模型的盡頭是開源"
    assert len(arts[3].blocks) == 1 and len(arts[3].blocks[0].text) > 3000


def test_report_004() -> None:
    _, arts = _parse(_seed("004"))
    (a,) = arts
    assert a.title == "AI 主题研究"
    assert a.source == "招银国际环球市场"
    assert a.date is None
    tables = [b for b in a.blocks if b.kind == "table"]
    assert len(tables) >= 10
    t5 = next(t for t in tables if t.caption.startswith("图 5"))
    assert t5.header == "被投公司简称\t一句话简介\t交易时间\t交易轮次"
    assert "扬杨得熠文化创意" in t5.text and "Konvy.com" in t5.text  # continues across the page break
    assert "资料来源" not in t5.text
    sections = {b.section for b in a.blocks}
    assert '■ 阿里巴巴: 围绕"消费"及"Al+云"两大核心战略开展布局'.lstrip("■ ") in sections
    # "图 N" headings are captions, not sections
    assert not any(s.startswith("图 ") for s in sections)
    captions = [b for b in a.blocks if b.kind == "caption"]
    assert any(b.text.startswith("资料来源") for b in captions)


def test_generic_markdown_sections_and_articles() -> None:
    text = "# One\n\nIntro para\nwrapped line.\n\n## Sub\n\n- item a\n- item b\n\n# Two\n\nBody two.\n"
    arts = parse_document("m", text)
    _check_spans(text, arts)
    assert [a.title for a in arts] == ["One", "Two"]
    kinds = [(b.kind, b.section) for b in arts[0].blocks]
    assert ("paragraph", "One") in kinds and ("bullet", "Sub") in kinds
    para = next(b for b in arts[0].blocks if b.kind == "paragraph")
    assert para.text == "Intro para\nwrapped line."


def test_generic_single_heading_is_one_article() -> None:
    text = "# Only\n\npara 1\n\npara 2\n"
    arts = parse_document("m", text)
    assert len(arts) == 1 and arts[0].title == "Only"
    assert [b.text for b in arts[0].blocks if b.kind == "paragraph"] == ["para 1", "para 2"]


def test_cmrc_like_title_then_paragraph() -> None:
    text = "范廷颂\n\n范廷颂枢机（，），圣名保禄·若瑟，是越南罗马天主教枢机。1963年被任为主教。\n"
    (a,) = parse_document("DEV_0", text)
    assert a.title == "范廷颂"
    assert [b.text for b in a.blocks] == [text.split("\n")[2]]


@pytest.mark.skipif(not CMRC_DIR.is_dir(), reason="CMRC corpus not available")
def test_cmrc_sample() -> None:
    files = sorted(CMRC_DIR.glob("*.txt"))
    for path in random.Random(7).sample(files, min(50, len(files))):
        text, arts = _parse(path)
        assert len(arts) == 1, path
        _check_spans(text, arts)
        first = text.split("\n")[0].strip()
        if first:
            assert arts[0].title == first
            assert len(arts[0].blocks) == 1
        assert arts[0].blocks[-1].text == text.strip().split("\n")[-1].strip()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t \n",
        "\r\r\n",
        "lone title",
        "Title\r\n\r\nline one\r\nline two\r\n",
        "\ufeffhello\n\nworld",
        "a\tb\n\tc\td\t\n",
        "# \n##\n- \n* \n",
        "x· 2024-01-01 10:00\n",
        "T\nSrc· 2024-01-01 10:00",
        "T\nSrc· 2024-01-01 10:00\nhead - a [1] H - b [2] - 3 - 4 [3]",
        "图 1: only a caption",
        "<b>bold</b>\t\n\t<b>x</b>",
        "#tag\nT1\n" + "长" * 200 + "\nT2\n" + "文" * 200,
    ],
)
def test_odd_inputs_never_crash(text: str) -> None:
    arts = parse_document("odd", text)
    _check_spans(text, arts)
    if not text.strip(" \t\r\n\ufeff"):
        assert arts == []
    else:
        assert arts


def test_crlf_offsets_are_exact() -> None:
    text = "T1\r\nSrc· 2024-05-06 07:08\r\nHead - bullet one [1] - bullet two [2]\r\nT2\r\nS2· 2024-05-07 09:10\r\nBody\r\n"
    arts = parse_document("c", text)
    _check_spans(text, arts)
    assert [(a.title, a.source, a.date) for a in arts] == [
        ("T1", "Src", "2024-05-06T07:08"),
        ("T2", "S2", "2024-05-07T09:10"),
    ]
    assert [b.text for b in arts[0].blocks] == ["Head", "bullet one [1]", "bullet two [2]"]
    assert all("\r" not in b.text for b in arts[0].blocks)


def test_random_garbage_never_crashes() -> None:
    rng = random.Random(3)
    alphabet = [
        "\n",
        "\r\n",
        "\t",
        " ",
        "-",
        "*",
        "#",
        "·",
        "[1]",
        "图 1:",
        "资料来源:",
        "2024-01-01 10:00",
        "字",
        "a",
    ]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        _check_spans(text, parse_document("g", text))


# ---------------------------------------------------------------------------------------- read_document


def test_read_document_exact_text(tmp_path: Path) -> None:
    p = tmp_path / "a.md"
    p.write_bytes("\ufeff# T\r\nbody\r\n".encode())
    assert read_document(p) == "\ufeff# T\r\nbody\r\n"  # no BOM stripping, no newline translation


def test_read_document_non_utf8(tmp_path: Path) -> None:
    p = tmp_path / "bad.txt"
    p.write_bytes(b"ok \xff\xfe bad")
    with pytest.raises(InputError, match=r"bad\.txt is not valid UTF-8 \(byte offset 3\)"):
        read_document(p)


def test_read_document_missing(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="nope.txt"):
        read_document(tmp_path / "nope.txt")


def test_read_document_unsupported_type(tmp_path: Path) -> None:
    p = tmp_path / "r.xlsx"
    p.write_bytes(b"%PDF-1.4")
    with pytest.raises(InputError, match="unsupported file type '.xlsx'"):
        read_document(p)


def test_read_document_directory(tmp_path: Path) -> None:
    d = tmp_path / "dir.txt"
    d.mkdir()
    with pytest.raises(InputError):
        read_document(d)
