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
