"""Hybrid retrieval over a small bilingual corpus (fake embedder)."""

from __future__ import annotations

import pytest

from index.errors import InputError
from rag.engine import Engine
from rag.types import Filters


def test_chinese_question_finds_the_figure(engine: Engine) -> None:
    hits = engine.search("Meta预计2026年资本支出是多少", k=3)
    assert hits and "1150亿美元" in hits[0].chunk.text
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_traditional_question_matches_simplified_text(engine: Engine) -> None:
    hits = engine.search("Meta預計2026年資本支出是多少", k=3)
    assert "1150亿美元" in hits[0].chunk.text


def test_english_question_reaches_chinese_text_through_the_lexicon(engine: Engine) -> None:
    # no shared words with the passage except via CC-CEDICT glosses (黄金 -> gold, 白银 -> silver)
    hits = engine.search("Why are funds pouring into gold and silver?", k=3, mode="lexical")
    assert hits and "黄金白银" in hits[0].chunk.text


def test_near_duplicates_are_collapsed(engine: Engine) -> None:
    hits = engine.search("Meta预计2026年资本支出", k=10)
    capex = [h for h in hits if "1150亿美元至1350亿美元" in h.chunk.text]
    # the digest bullet and the reposted copy say the same thing: only the better-ranked one stays
    assert len(capex) == 1


def test_filters(engine: Engine) -> None:
    only_36kr = engine.search("融资", k=10, filters=Filters(sources=("36氪",)))
    assert only_36kr and {h.chunk.source for h in only_36kr} == {"36氪"}
    by_doc = engine.search("revenue", k=10, filters=Filters(docs=("cloud.md",)))
    assert by_doc and {h.chunk.doc for h in by_doc} == {"cloud.md"}
    dated = engine.search("Meta", k=10, filters=Filters(date_from="2026-02-01", date_to="2026-02-28"))
    assert dated and all(h.chunk.date and h.chunk.date.startswith("2026-02") for h in dated)
    assert engine.search("Meta", k=10, filters=Filters(date_from="2030-01-01")) == []


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_modes_return_ranked_hits(engine: Engine, mode: str) -> None:
    hits = engine.search("Google Cloud backlog", k=2, mode=mode)
    assert 1 <= len(hits) <= 2
    assert hits[0].chunk.doc == "cloud.md"


def test_bad_queries(engine: Engine) -> None:
    with pytest.raises(InputError):
        engine.search("   ")
    with pytest.raises(InputError):
        engine.search("Meta", k=0)
    with pytest.raises(ValueError):
        engine.search("Meta", mode="magic")


def test_an_english_question_reaches_a_name_written_by_sound(shared_cache) -> None:  # type: ignore[no-untyped-def]
    from index.lexicon import Lexicon, build_sound_index
    from rag.query import analyze

    lex = Lexicon.load(shared_cache)
    sound = build_sound_index(["特威格", "瘟疫", "传播"], lex)
    q = analyze("What does Graham Twigg propose about the spread of disease?", lex, {}, sound_index=sound)
    assert q.name_words["twigg"] == ("特威格",) and q.text_terms["特威格"] == 0.5
    assert "twigg" in q.forms("twigg") and "特威格" in q.forms("twigg")
    zh = analyze("特威格认为瘟疫如何传播?", lex, {}, sound_index=sound)
    assert zh.name_words == {}  # only English questions look names up by sound
