"""Extractive answers: cited sentences with exact offsets, and abstention."""

from __future__ import annotations

import re

from index.types import Chunk
from rag.answer import question_script, split_sentences
from rag.engine import Engine


def test_answer_quotes_the_figure_with_an_exact_citation(engine: Engine) -> None:
    ans = engine.ask("Meta预计2026年资本支出是多少?")
    assert not ans.abstained
    assert "1150亿美元" in ans.text and "[1]" in ans.text
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", ans.text)}
    assert markers == {c.n for c in ans.citations}
    for c in ans.citations:
        text = engine.document_text(c.doc)
        assert text[c.quote_start : c.quote_end] == c.quote
        assert c.start <= c.quote_start < c.quote_end <= c.end
    # the source's own reference marks ([1][2]) are not shown as if they were our citations
    assert ans.citations[0].quote in engine.document_text(ans.citations[0].doc)
    assert ans.timings_ms["total"] >= ans.timings_ms["retrieve"]


def test_wrong_year_abstains(engine: Engine) -> None:
    ans = engine.ask("Meta预计2031年资本支出是多少?")
    assert ans.abstained and ans.citations == []
    assert "没有" in ans.text


def test_unrelated_question_abstains_in_the_question_language(engine: Engine) -> None:
    en = engine.ask("What is the boiling point of liquid nitrogen on Titan?")
    assert en.abstained and en.text.startswith("The documents do not answer")
    hant = engine.ask("土衛六上液態氮的沸點是多少?")
    assert hant.abstained and "沒有" in hant.text


def test_stream_yields_text_then_the_answer(engine: Engine) -> None:
    parts = list(engine.ask_stream("阶跃星辰融资多少?"))
    final = parts[-1]
    assert not isinstance(final, str)
    assert "".join(p for p in parts[:-1] if isinstance(p, str)) == final.text
    assert "50亿元" in final.text


def test_question_script() -> None:
    assert question_script("What is it?") == "en"
    assert question_script("资料来源是哪里，多少？") == "zh-Hans"
    assert question_script("輝達的營收是多少?") == "zh-Hant"


def test_split_sentences_offsets() -> None:
    doc = "前言。要点 - 第一条,营收598.9亿美元 [1][2] - 第二条!\nThird line. Fourth one"
    c = Chunk(
        doc="d", article=0, title="t", source=None, date=None, section="", start=0, end=len(doc), text=doc
    )
    spans = split_sentences(c)
    quotes = [doc[s:e] for s, e in spans]
    assert "第一条,营收598.9亿美元" in quotes  # trailing reference marks trimmed
    assert all(q == q.strip() and not q.startswith("-") for q in quotes)
