import pytest

from eval.gold import Evidence
from eval.metrics import (
    fact_recall,
    facts_found,
    first_relevant_rank,
    is_relevant,
    make_normalizer,
    mean,
    overlap,
    percentile,
    ranking_metrics,
    relevance_threshold,
)


@pytest.fixture(scope="module")
def normalize():
    return make_normalizer()


def test_relevant_at_rank_three_gives_recall5_one_and_mrr_one_third():
    m = ranking_metrics({"q": ["x", "y", "rel", "z"]}, {"q": {"rel"}})["q"]
    assert m["recall@1"] == 0.0
    assert m["recall@5"] == 1.0
    assert m["recall@10"] == 1.0
    assert m["mrr@10"] == pytest.approx(1 / 3)
    assert m["ndcg@10"] == pytest.approx(0.5)  # 1/log2(3+1) over an ideal of 1


def test_recall_is_a_hit_rate_not_the_share_of_relevant_chunks():
    # trec_eval's recall_5 would be 0.5 here (one of two relevant chunks); the README's Recall@5 is 1.
    m = ranking_metrics({"q": ["a", "x"]}, {"q": {"a", "b"}})["q"]
    assert m["recall@5"] == 1.0


def test_ndcg_uses_the_pooled_relevant_chunks_as_ideal():
    m = ranking_metrics({"q": ["a", "x", "c"]}, {"q": {"a", "c"}})["q"]
    assert m["ndcg@10"] == pytest.approx((1 + 0.5) / (1 + 1 / 1.584962500721156))
    # a relevant chunk found only by another retriever lowers this list's nDCG
    m2 = ranking_metrics({"q": ["a"]}, {"q": {"a", "other"}})["q"]
    assert m2["ndcg@10"] == pytest.approx(1 / (1 + 1 / 1.584962500721156))


def test_mrr_and_recall10_are_cut_at_ten():
    ids = [f"x{i}" for i in range(10)] + ["rel"]
    m = ranking_metrics({"q": ids}, {"q": {"rel"}}, ks=(1, 5, 10, 20))["q"]
    assert m["mrr@10"] == 0.0 and m["recall@10"] == 0.0 and m["ndcg@10"] == 0.0
    assert m["recall@20"] == 1.0


def test_no_relevant_chunk_and_empty_run_score_zero():
    out = ranking_metrics({"a": ["x", "y"], "b": []}, {})
    for q in ("a", "b"):
        assert out[q] == {"recall@1": 0.0, "recall@5": 0.0, "recall@10": 0.0, "mrr@10": 0.0, "ndcg@10": 0.0}


def test_ranking_keeps_the_given_order_not_id_order():
    # trec_eval breaks score ties by doc id; distinct scores must preserve the engine's ranking
    m = ranking_metrics({"q": ["zzz", "aaa"]}, {"q": {"aaa"}})["q"]
    assert m["mrr@10"] == 0.5
    assert first_relevant_rank([False, True]) == 2 and first_relevant_rank([False]) is None


def test_overlap_and_threshold():
    assert overlap((0, 10), (5, 20)) == 5 and overlap((0, 5), (5, 9)) == 0
    assert relevance_threshold("x" * 10) == 5
    assert relevance_threshold("x" * 500) == 60


def test_chunk_overlapping_less_than_threshold_is_not_relevant():
    ev = [Evidence(doc="a.txt", quote="0123456789", spans=((100, 110),))]  # threshold 5 chars
    assert not is_relevant("a.txt", 0, 104, ev)  # overlaps 4 characters
    assert is_relevant("a.txt", 0, 105, ev)  # overlaps 5
    assert not is_relevant("b.txt", 0, 200, ev)  # other document


def test_long_quote_needs_sixty_characters_and_any_occurrence_counts():
    q = "y" * 200
    ev = [Evidence(doc="a.txt", quote=q, spans=((0, 200), (1000, 1200)))]
    assert not is_relevant("a.txt", 141, 400, ev)  # 59 characters of the first occurrence
    assert is_relevant("a.txt", 140, 400, ev)
    assert is_relevant("a.txt", 1140, 1500, ev)  # the second occurrence


def test_answer_with_one_of_two_facts(normalize):
    facts = [["1150亿", "115 billion"], ["1350亿", "135 billion"]]
    assert facts_found("Meta expects 115 billion of capex.", facts, normalize) == [True, False]
    assert fact_recall("Meta expects 115 billion of capex.", facts, normalize) == 0.5


def test_traditional_answer_matches_simplified_fact(normalize):
    assert fact_recall("預計資本支出為1150億美元", [["资本支出"], ["1150亿"]], normalize) == 1.0
    assert fact_recall("资本支出", [["資本支出"]], normalize) == 1.0


def test_normalisation_nfkc_case_and_whitespace(normalize):
    assert normalize("１１５ Billion\t美元") == "115billion美元"
    assert fact_recall("US$ 115B", [["$115b"]], normalize) == 1.0
    assert fact_recall("nothing here", [["115 billion"]], normalize) == 0.0
    assert fact_recall("anything", [], normalize) is None


def test_mean_and_percentile():
    assert mean([1.0, None, 0.0]) == 0.5 and mean([None]) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(range(101)), 95) == 95.0
    assert percentile([], 50) is None
