"""Cross-lingual calibration data rendered from Chinese gold items (``eval.crosslingual``)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from eval.crosslingual import build_mixed, render, render_gold

_HAN = re.compile(r"[\u4e00-\u9fff]")


def test_a_question_is_rendered_in_english_words() -> None:
    q = render("丁磊在哪一年创立了网易公司?", random.Random(0))
    assert not _HAN.search(q)
    assert q.endswith("?") and q[0].isupper()
    assert "Ding Lei" in q  # a name the dictionary does not translate is written in pinyin
    assert "which year" in q


def test_rendered_gold_keeps_labels_and_evidence() -> None:
    lines = [
        json.dumps(
            {
                "id": "a",
                "question": "微软的总部在哪里?",
                "answerable": True,
                "evidence": [{"doc": "d", "quote": "x"}],
            }
        ),
        json.dumps({"id": "b", "question": "", "answerable": True, "evidence": []}),  # invalid: skipped
        json.dumps({"id": "c", "question": "谁发明了电话?", "answerable": False, "evidence": []}),
    ]
    out = list(render_gold(iter(lines)))
    assert [o["id"] for o in out] == ["a-en", "c-en"]
    assert out[0]["lang"] == "en" and out[0]["evidence"] == [{"doc": "d", "quote": "x"}]
    assert out[0]["source_question"] == "微软的总部在哪里?"
    assert out[1]["answerable"] is False


def test_mixed_corpus_renders_every_second_paragraph_with_findable_quotes(tmp_path: Path) -> None:
    corpus = tmp_path / "in"
    corpus.mkdir()
    (corpus / "drcd_7-0.txt").write_text("网易\n\n网易公司由丁磊创立，总部在杭州。", encoding="utf-8")
    (corpus / "drcd_7-1.txt").write_text("网易\n\n一九九八年，网易推出免费电子邮件服务。", encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    items = [
        {
            "id": "q0",
            "question": "网易是谁创立的?",
            "answerable": True,
            "evidence": [{"doc": "drcd_7-0.txt", "quote": "丁磊"}],
        },
        {
            "id": "q1",
            "question": "网易推出了什么服务?",
            "answerable": True,
            "evidence": [{"doc": "drcd_7-1.txt", "quote": "免费电子邮件服务"}],
        },
        {"id": "q2", "question": "网易的创始人毕业于哪所大学?", "answerable": False, "evidence": []},
    ]
    gold.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items), encoding="utf-8")
    docs, n = build_mixed(gold, corpus, tmp_path / "out")
    assert (docs, n) == (2, 6)
    kept = (tmp_path / "out/corpus/drcd_7-0.txt").read_text(encoding="utf-8")
    english = (tmp_path / "out/corpus/drcd_7-1.txt").read_text(encoding="utf-8")
    assert "丁磊" in kept and not _HAN.search(english)
    rows = [json.loads(x) for x in (tmp_path / "out/gold.jsonl").read_text(encoding="utf-8").splitlines()]
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {"q0", "q0-en", "q1", "q1-en", "q2", "q2-en"}
    quote = by_id["q1"]["evidence"][0]["quote"]
    assert quote and quote in english and not _HAN.search(quote)  # the quote's rendering, in place
    assert by_id["q0-en"]["evidence"] == items[0]["evidence"]
    assert not _HAN.search(by_id["q2-en"]["question"]) and by_id["q2-en"]["answerable"] is False
