import json
from pathlib import Path

import pytest

from eval.gold import Evidence, GoldItem
from eval.harness import evaluate
from index.errors import InputError
from tests.conftest import FakeEmbedder
from tests.eval.fakes import FakeEngine

A = "Intro text here. Meta set capex of 115 billion for 2026. Other words follow here to pad it out."
B = "第一段无关。阿里巴巴的云收入增长了百分之三十四。第三段也无关。"
QA = "capex of 115 billion"
QB = "云收入增长了百分之三十四"
a0, b0 = A.index(QA), B.index(QB)

REL_A = ("a.txt", a0 - 5, a0 + len(QA))
REL_B = ("b.txt", b0, b0 + len(QB) + 3)
IRR_A = ("a.txt", 0, 15)
IRR_B = ("b.txt", 0, 6)

ITEMS = [
    GoldItem(
        id="q1",
        question="What is Meta's capex?",
        lang="en",
        type="numeric",
        answerable=True,
        facts=(("115 billion", "1150亿"), ("135 billion",)),
        evidence=(Evidence("a.txt", QA),),
    ),
    GoldItem(
        id="q2",
        question="阿里云收入增长多少?",
        lang="zh-Hans",
        type="factoid",
        answerable=True,
        facts=(("百分之三十四", "34%"),),
        evidence=(Evidence("b.txt", QB),),
    ),
    GoldItem(id="q3", question="Meta 2030 capex?", lang="en", type="near-miss", answerable=False),
    GoldItem(id="q4", question="騰訊的股價?", lang="zh-Hant", type="unanswerable", answerable=False),
]


def engine() -> FakeEngine:
    ranked = {
        ("What is Meta's capex?", "hybrid"): [IRR_A, IRR_B, REL_A, IRR_A],
        ("What is Meta's capex?", "dense"): [REL_A],
        ("阿里云收入增长多少?", "hybrid"): [REL_B],
        ("阿里云收入增长多少?", "lexical"): [IRR_B, REL_B],
    }
    answers = {
        "What is Meta's capex?": ("Meta set capex of 115 billion [1][2].", [REL_A, IRR_B], False),
        "阿里云收入增长多少?": ("文件没有回答这个问题。", [], True),
        "Meta 2030 capex?": ("Not stated.", [], True),
        "騰訊的股價?": ("It is 300 [1].", [IRR_A], False),
    }
    return FakeEngine({"a.txt": A, "b.txt": B}, ranked, answers)


@pytest.fixture(scope="module")
def run():
    e = engine()
    return e, evaluate(e, ITEMS, k=10, progress=False)


def test_overall_retrieval_of_the_full_pipeline(run):
    _, r = run
    assert r["n"] == 4 and r["n_answerable"] == 2
    ret = r["retrieval"]
    assert ret["recall@1"] == 0.5  # q2 at rank 1, q1 at rank 3
    assert ret["recall@5"] == 1.0 and ret["recall@10"] == 1.0
    assert ret["mrr@10"] == pytest.approx((1 / 3 + 1) / 2)
    assert ret["ndcg@10"] == pytest.approx((0.5 + 1) / 2)


def test_answer_metrics(run):
    a = run[1]["answer"]
    assert a["fact_recall"] == pytest.approx(0.25)  # q1: 1 of 2 facts; q2 abstained: 0
    assert a["citation_precision"] == 0.5  # q1 cites one relevant, one irrelevant chunk
    assert a["abstention_accuracy"] == 0.5  # q3 abstained, q4 answered
    assert a["false_abstention_rate"] == 0.5  # q2


def test_baselines_on_the_same_chunks(run):
    e, r = run
    b = r["baselines"]
    assert set(b) == {"lexical", "dense", "hybrid"}
    assert b["dense"]["recall@1"] == 0.5 and b["dense"]["mrr@10"] == 0.5
    assert b["lexical"]["recall@5"] == 0.5 and b["lexical"]["mrr@10"] == 0.25
    assert b["hybrid"]["mrr@10"] == r["retrieval"]["mrr@10"]
    assert {mode for _, _, mode in e.search_calls} == {"lexical", "dense", "hybrid"}
    assert all(k >= 10 for _, k, _ in e.search_calls)


def test_groups_by_lang_and_type_with_null_where_no_such_item(run):
    r = run[1]
    assert set(r["by_lang"]) == {"en", "zh-Hans", "zh-Hant"}
    en = r["by_lang"]["en"]
    assert en["n"] == 2 and en["n_answerable"] == 1
    assert en["recall@5"] == 1.0 and en["mrr@10"] == pytest.approx(1 / 3)
    assert en["abstention_accuracy"] == 1.0 and en["false_abstention_rate"] == 0.0
    hant = r["by_lang"]["zh-Hant"]
    assert hant["recall@5"] is None and hant["fact_recall"] is None and hant["abstention_accuracy"] == 0.0
    assert r["by_lang"]["zh-Hans"]["abstention_accuracy"] is None
    assert r["by_type"]["near-miss"]["abstention_accuracy"] == 1.0


def test_latency_and_json_shape(run):
    e, r = run
    lat = r["latency_ms"]
    for key in ("search_p50", "search_p95", "ask_p50", "ask_p95", "embed_query_p50"):
        assert isinstance(lat[key], float) and lat[key] >= 0
    assert lat["search_p95"] >= lat["search_p50"]
    # one warm-up ask plus one timed ask per item; one embedding each plus the warm-up
    assert len(e.ask_calls) == 5 and e.embedder.calls == 5
    json.dumps(r, allow_nan=False)


def test_per_item_records(run):
    recs = {x["id"]: x for x in run[1]["items"]}
    assert recs["q1"]["rank"] == {"lexical": None, "dense": 1, "hybrid": 3}
    assert recs["q1"]["facts_found"] == [True, False]
    assert recs["q1"]["citations"] == 2 and recs["q1"]["citations_relevant"] == 1
    assert recs["q2"]["abstained"] is True and recs["q2"]["fact_recall"] == 0.0
    assert recs["q3"]["rank"]["hybrid"] is None and recs["q3"]["fact_recall"] is None


def test_without_unanswerable_items_abstention_accuracy_is_null():
    r = evaluate(engine(), ITEMS[:2], progress=False)
    assert r["answer"]["abstention_accuracy"] is None
    assert r["answer"]["false_abstention_rate"] == 0.5


def test_no_citations_at_all_gives_zero_precision():
    e = engine()
    e.answers["What is Meta's capex?"] = ("115 billion", [], False)
    r = evaluate(e, ITEMS[:2], progress=False)
    assert r["answer"]["citation_precision"] == 0.0


def test_larger_k_adds_a_recall_at_k():
    e = engine()
    r = evaluate(e, ITEMS, k=20, progress=False)
    assert r["retrieval"]["recall@20"] == 1.0
    assert all(k == 20 for _, k, _ in e.search_calls)


def test_a_quote_missing_from_the_corpus_fails_before_any_query():
    e = engine()
    bad = GoldItem(
        id="qx",
        question="?",
        lang="en",
        type="factoid",
        answerable=True,
        evidence=(Evidence("a.txt", "not there"),),
    )
    with pytest.raises(InputError, match="item qx .*'not there' does not occur in a.txt"):
        evaluate(e, [*ITEMS, bad], progress=False)
    assert e.search_calls == [] and e.ask_calls == []


def test_a_lead_line_stating_a_figure_its_quote_lacks_is_counted() -> None:
    from eval.harness import _lead_unsupported
    from index.types import Chunk
    from rag.types import Answer, Citation

    c = Chunk(doc="d", article=0, title="t", source=None, date=None, section="", start=0, end=30, text="x")
    cite = Citation.of(1, c, 0, 30, "Meta预计资本支出将在1150亿美元至1350亿美元之间")
    ans = Answer(question="q", text="", citations=[cite], abstained=False)
    assert _lead_unsupported("US$115–135 billion [1]", ans) == []
    assert _lead_unsupported("US$125 billion [1]", ans) == ["125 billion"]
    assert _lead_unsupported("US$115 billion [2]", ans) == ["US$115 billion [2]"]  # cites no quote
    assert _lead_unsupported(None, ans) == []
    # the quote's attribution is shown with it: an outlet and date a lead states are the citation's
    dated = Chunk(
        doc="d", article=0, title="t", source="36氪", date="2026-02-05", section="", start=0, end=9, text="x"
    )
    ans = Answer(
        question="q", text="", citations=[Citation.of(1, dated, 0, 9, "文章核心观点")], abstained=False
    )
    assert _lead_unsupported("36氪, 2026-02-05 [1]", ans) == []
    assert _lead_unsupported("36氪, 2026-02-06 [1]", ans) == ["06"]


def test_no_lead_over_the_seeds_states_a_number_its_citation_lacks(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    # every question of the seed dev set and of the follow-up set, asked over the seeds: whatever
    # a lead says, each of its numbers is in the quote (or attribution) it cites
    from eval.gold import load_gold
    from eval.harness import _lead_unsupported
    from rag.engine import Engine
    from rag.settings import Settings

    root = Path(__file__).resolve().parents[2]
    eng = Engine.open(
        Settings(data_dir=tmp_path / "data", corpus=root / "seeds", cache=shared_cache), fake_embedder
    )
    questions = [it.question for it in load_gold(root / "eval" / "gold" / "dev.jsonl")]
    for line in (root / "eval" / "gold" / "followup.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            questions += [t for t in json.loads(line).get("turns", []) if isinstance(t, str)]
    leads = 0
    for q in questions:
        a = eng.ask(q)
        leads += bool(a.lead)
        assert _lead_unsupported(a.lead, a) == [], (q, a.lead)
    assert leads >= 10  # the check is made on leads, not on their absence
