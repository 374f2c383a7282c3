import json
from pathlib import Path

import pytest

from eval.gold import find_all, load_gold, locate_evidence
from index.errors import InputError

GOOD = {
    "id": "q1",
    "question": "What is the capex?",
    "lang": "en",
    "type": "numeric",
    "answerable": True,
    "answer": "115 billion",
    "facts": [["115 billion", "1150亿"]],
    "evidence": [{"doc": "a.txt", "quote": "capex of 115 billion"}],
}
UNANSWERABLE = {
    "id": "q2",
    "question": "2030 capex?",
    "lang": "zh-Hans",
    "type": "near-miss",
    "answerable": False,
    "answer": "",
    "facts": [],
    "evidence": [],
}


def write(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "gold.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_loads_valid_items_and_skips_blank_lines(tmp_path):
    p = write(tmp_path, [json.dumps(GOOD), "", json.dumps(UNANSWERABLE, ensure_ascii=False)])
    items = load_gold(p)
    assert [i.id for i in items] == ["q1", "q2"]
    assert items[0].facts == (("115 billion", "1150亿"),)
    assert items[0].evidence[0].doc == "a.txt" and items[0].evidence[0].spans == ()
    assert items[1].answerable is False and items[1].line == 3


def test_invalid_json_names_file_and_line(tmp_path):
    p = write(tmp_path, [json.dumps(GOOD), '{"id": "broken", '])
    with pytest.raises(InputError) as e:
        load_gold(p)
    assert f"{p}:2: not valid JSON" in str(e.value)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"question": ""}, "'question' must be a non-empty string"),
        ({"answerable": "yes"}, "'answerable' must be true or false"),
        ({"facts": ["115 billion"]}, "'facts' must be a list of non-empty lists"),
        ({"evidence": [{"doc": "a.txt"}]}, "evidence[0].quote must be a non-empty string"),
        ({"evidence": []}, "an answerable item needs at least one evidence quote"),
    ],
)
def test_malformed_field_names_line_and_problem(tmp_path, change, message):
    p = write(tmp_path, [json.dumps(UNANSWERABLE), json.dumps({**GOOD, **change})])
    with pytest.raises(InputError) as e:
        load_gold(p)
    assert f"{p}:2: {message}" in str(e.value)


def test_missing_key_is_named(tmp_path):
    bad = {k: v for k, v in GOOD.items() if k != "lang"}
    with pytest.raises(InputError, match=r":1: 'lang' must be a non-empty string \(missing\)"):
        load_gold(write(tmp_path, [json.dumps(bad)]))


def test_unanswerable_with_evidence_is_rejected(tmp_path):
    bad = {**UNANSWERABLE, "evidence": GOOD["evidence"]}
    with pytest.raises(InputError, match="answerable: false must have empty"):
        load_gold(write(tmp_path, [json.dumps(bad)]))


def test_duplicate_id_and_all_problems_reported_together(tmp_path):
    p = write(tmp_path, [json.dumps(GOOD), "[1, 2]", json.dumps(GOOD)])
    with pytest.raises(InputError) as e:
        load_gold(p)
    msg = str(e.value)
    assert "2 problems" in msg
    assert f"{p}:2: expected a JSON object" in msg
    assert f"{p}:3: duplicate id 'q1' (first on line 1)" in msg


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="gold file not found"):
        load_gold(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="has no items"):
        load_gold(write(tmp_path, [""]))


def test_find_all_returns_every_occurrence_including_overlapping():
    assert find_all("abcabc", "abc") == ((0, 3), (3, 6))
    assert find_all("aaa", "aa") == ((0, 2), (1, 3))
    assert find_all("abc", "x") == ()


def test_locate_evidence_fills_all_spans(tmp_path):
    items = load_gold(write(tmp_path, [json.dumps(GOOD), json.dumps(UNANSWERABLE)]))
    text = "The capex of 115 billion was set. Again: capex of 115 billion.\tEnd"
    located = locate_evidence(items, {"a.txt": text}.__getitem__)
    spans = located[0].evidence[0].spans
    assert spans == ((4, 24), (41, 61))
    assert all(text[s:e] == "capex of 115 billion" for s, e in spans)
    assert located[1].evidence == ()


def test_quote_not_in_document_names_item_doc_and_quote(tmp_path):
    items = load_gold(write(tmp_path, [json.dumps(GOOD)]))
    with pytest.raises(InputError) as e:
        locate_evidence(items, {"a.txt": "capex of 115  billion (two spaces)"}.__getitem__)
    msg = str(e.value)
    assert "item q1 (line 1)" in msg and "'capex of 115 billion'" in msg and "does not occur in a.txt" in msg


def test_unknown_document_is_reported(tmp_path):
    items = load_gold(write(tmp_path, [json.dumps(GOOD)]))
    with pytest.raises(InputError, match="document 'a.txt' is not in the index"):
        no_docs: dict[str, str] = {}
        locate_evidence(items, no_docs.__getitem__)


def test_the_shipped_gold_file_is_valid():
    items = load_gold(Path(__file__).resolve().parents[2] / "eval" / "gold" / "dev.jsonl")
    assert len(items) == 68 and sum(i.answerable for i in items) == 58
