"""Chunking: exact spans, article boundaries, token limits, no overlap, table context."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from index.chunk import chunk_articles, context_header
from index.parse import parse_document, read_document
from index.types import Article, Block, Chunk
from tests.conftest import FakeEmbedder

ROOT = Path(__file__).resolve().parents[2]
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
CMRC_DIR = Path(__file__).resolve().parents[3] / "shared" / "external" / "cmrc2018" / "corpus"
COUNT = FakeEmbedder().count_tokens
FURNITURE = ("Workflow", "icon", "搜索文档")


def _chunks(path: Path, max_tokens: int = 200, hard: int = 512) -> tuple[str, list[Article], list[Chunk]]:
    text = read_document(path)
    arts = parse_document(path.stem, text)
    return text, arts, chunk_articles(arts, text, COUNT, max_tokens=max_tokens, hard_max_tokens=hard)


def _check(text: str, arts: list[Article], chunks: list[Chunk], hard: int = 512) -> None:
    by_index = {a.index: a for a in arts}
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.text and c.text == c.text.strip()
        a = by_index[c.article]
        assert a.start <= c.start and c.end <= a.end, "chunk crosses its article"
        assert (c.title, c.source, c.date) == (a.title, a.source, a.date)
        assert COUNT(c.embed_text) <= hard
    for x, y in zip(chunks, chunks[1:], strict=False):
        if x.article == y.article:
            assert x.end <= y.start, f"overlap {x.id} {y.id}"
        else:
            assert x.article < y.article


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name[:3])
def test_seed_chunks(path: Path) -> None:
    text, arts, chunks = _chunks(path)
    assert chunks
    _check(text, arts, chunks)
    assert {c.article for c in chunks} == {a.index for a in arts if a.blocks}
    # greedy packing keeps chunks near the target size: most are within max_tokens (an article's
    # first chunk may run over by its title and byline, which it carries)
    firsts = {
        min((c for c in chunks if c.article == a), key=lambda c: c.start).start
        for a in {c.article for c in chunks}
    }
    rest = [c for c in chunks if c.start not in firsts]
    within = sum(COUNT(c.embed_text) <= 200 for c in rest)
    assert within >= 0.95 * len(rest)
    # and every article's first chunk starts at the article: its title and byline are citable
    for a in arts:
        mine = [c for c in chunks if c.article == a.index]
        if mine and a.start + 300 >= mine[0].start:
            assert min(c.start for c in mine) == a.start
    for c in chunks:
        assert not any(c.text.startswith(f) or f"\n{f}\n" in c.text for f in FURNITURE)


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name[:3])
def test_seed_chunks_small_budget(path: Path) -> None:
    text, arts, chunks = _chunks(path, max_tokens=64, hard=96)
    _check(text, arts, chunks, hard=96)


def test_furniture_not_in_chunks() -> None:
    for prefix in ("000", "002", "003"):
        path = next(p for p in SEEDS if p.name.startswith(prefix))
        text, _, chunks = _chunks(path)
        furniture_end = text.index("搜索文档") + len("搜索文档")
        assert all(c.start >= furniture_end for c in chunks)
        assert not any(c.text.split("\n")[0] in FURNITURE for c in chunks)


def test_context_header_002() -> None:
    path = next(p for p in SEEDS if p.name.startswith("002"))
    _, _, chunks = _chunks(path)
    c = chunks[0]
    assert c.context.startswith("港股异动 | 光通信概念股涨幅居前")
    assert " · 智通财经网 · 2026-02-03 · 市场表现" in c.context
    assert c.section == "市场表现"
    date_only = next(c for c in chunks if c.title == "强CALL算力的逻辑是什么")
    assert date_only.context.startswith("强CALL算力的逻辑是什么 · 2026-02-03")
    assert len(c.context) < 200


def test_table_chunks_carry_header_and_caption() -> None:
    path = next(p for p in SEEDS if p.name.startswith("004"))
    text, arts, chunks = _chunks(path)
    tables = [b for b in arts[0].blocks if b.kind == "table" and b.section != "目录"]
    assert tables
    for t in tables:
        inside = [c for c in chunks if c.start < t.end and c.end > t.start]
        assert inside
        for c in inside:
            header = " | ".join(cell.strip() for cell in t.header.split("\t") if cell.strip())
            assert header[:40] in c.context
            if t.caption:
                assert t.caption[:30] in c.context
            # whole rows only: a table chunk starts and ends at line boundaries (modulo trimmed blanks)
            line_start = text.rfind("\n", 0, c.start) + 1
            line_end = text.find("\n", c.end) % (len(text) + 1)
            assert not text[line_start : c.start].strip() or c.start <= t.start
            assert not text[c.end : line_end].strip()
    # the 36-row table of figure 9 must be split into several row chunks
    t9 = next(t for t in tables if t.caption.startswith("图 9"))
    assert len([c for c in chunks if t9.start <= c.start < t9.end]) >= 2


def test_blocks_of_different_sections_not_packed() -> None:
    text = "T\nS· 2024-01-01 10:00\nA - one [1] B - two [2]"
    arts = parse_document("d", text)
    chunks = chunk_articles(arts, text, COUNT, max_tokens=200)
    assert [c.text for c in chunks] == ["T\nS· 2024-01-01 10:00\nA - one [1]", "B - two [2]"]
    assert [c.section for c in chunks] == ["A", "B"]


def test_packing_spans_include_separators() -> None:
    text = "# H\n\npara one.\n\npara two.\n\npara three.\n"
    arts = parse_document("d", text)
    (c,) = chunk_articles(arts, text, COUNT, max_tokens=200)
    assert c.text == "# H\n\npara one.\n\npara two.\n\npara three."


def test_oversized_block_is_split_at_sentences() -> None:
    sentence = "英伟达发布了新的推理芯片并扩大产能。"
    text = "标题\n\n" + sentence * 40 + "\n"
    arts = parse_document("d", text)
    chunks = chunk_articles(arts, text, COUNT, max_tokens=100, hard_max_tokens=120)
    assert len(chunks) >= 5
    _check(text, arts, chunks, hard=120)
    assert all(COUNT(c.embed_text) <= 100 for c in chunks)
    assert all(c.text.endswith("。") for c in chunks)
    assert chunks[0].text.startswith("标题\n\n")  # the title rides with the first chunk
    assert "".join(c.text for c in chunks) == "标题\n\n" + sentence * 40


def test_unbreakable_text_is_hard_split() -> None:
    text = "x\n\n" + "字" * 1000
    arts = parse_document("d", text)
    chunks = chunk_articles(arts, text, COUNT, max_tokens=50, hard_max_tokens=60)
    _check(text, arts, chunks, hard=60)
    assert sum(len(c.text) for c in chunks) == 1000 + len("x\n\n")


def test_context_header_truncates_and_omits() -> None:
    a = Article(doc="d", index=0, title="t" * 100, source=None, date="2025-01-02T03:04", start=0, end=1)
    h = context_header(a, "s" * 100)
    parts = h.split(" · ")
    assert len(parts) == 3 and parts[1] == "2025-01-02"
    assert all(len(p) <= 60 for p in parts)
    assert context_header(a, a.title) == " · ".join(parts[:2])


def test_empty_inputs() -> None:
    assert chunk_articles([], "", COUNT) == []
    art = Article(doc="d", index=0, title="t", source=None, date=None, start=0, end=3, blocks=())
    assert chunk_articles([art], "abc", COUNT) == []
    blk = Block(kind="paragraph", start=0, end=3, text="   ")
    art2 = Article(doc="d", index=0, title="t", source=None, date=None, start=0, end=3, blocks=(blk,))
    assert chunk_articles([art2], "   ", COUNT) == []


@pytest.mark.skipif(not CMRC_DIR.is_dir(), reason="CMRC corpus not available")
def test_cmrc_sample_chunks() -> None:
    files = sorted(CMRC_DIR.glob("*.txt"))
    for path in random.Random(11).sample(files, min(50, len(files))):
        text, arts, chunks = _chunks(path)
        _check(text, arts, chunks)
        assert chunks
