"""The BM25 side: scores read from bm25s's matrix, shards, document frequencies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.lexical import DocumentFrequencies, build_lexical, load_lexical, save_lexical
from index.segment import SegmentedLexical


def test_scores_are_bm25s_own_scores_weighted_and_summed() -> None:
    docs = [["a", "b", "b"], ["b", "c"], [], ["a", "a", "d"], ["c"]] * 3
    lex = build_lexical(docs, docs)
    bm = lex._fields["text"]
    for terms in ({"a": 1.0}, {"a": 1.0, "b": 2.5}, {"c": 0.3, "zz": 1.0, "d": 1.0, "b": 0.0}):
        expect = np.zeros(lex.n, np.float32)
        for t, w in terms.items():
            if t in bm.vocab_dict and w > 0:
                expect += w * bm.get_scores([t])
        assert np.array_equal(lex.scores("text", terms), expect)


def test_document_frequencies_read_from_the_bm25_index() -> None:
    docs = [["a", "b", "b"], ["b", "c"], []]
    lex = build_lexical(docs, docs)
    df = DocumentFrequencies(lex, "text")
    assert df.get("b") == 2 and df["a"] == 1 and df.get("z", 0) == 0 and "c" in df and "z" not in df
    assert sorted(df) == ["a", "b", "c"] and len(df) == 3
    with pytest.raises(KeyError):
        df["z"]
    split = SegmentedLexical([build_lexical(docs[:1], docs[:1]), build_lexical(docs[1:], docs[1:])], None)
    assert dict(DocumentFrequencies(split, "text")) == dict(df)


def test_lexical_shards_score_as_one_index(tmp_path: Path) -> None:
    docs = [["alpha", "beta"], ["alpha", "gamma"], ["alpha", "delta"], ["beta", "gamma"], ["omega", "alpha"]]
    save_lexical(tmp_path / "whole", docs, docs)
    save_lexical(tmp_path / "sharded", docs, docs, shard=2)
    assert len(list((tmp_path / "sharded").glob("shard-*"))) == 3
    whole, sharded = load_lexical(tmp_path / "whole"), load_lexical(tmp_path / "sharded")
    assert sharded.n == whole.n == 5
    for terms in ({"omega": 1.0}, {"alpha": 1.0, "beta": 2.0}, {"gamma": 1.0}):
        for field in ("text", "gloss"):
            assert np.allclose(sharded.scores(field, terms), whole.scores(field, terms), rtol=1e-5)
    assert sharded.df("text", "alpha") == 4


def test_above_the_size_threshold_the_commonest_terms_score_only_the_best_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from index.lexical import LexicalIndex

    rng = np.random.default_rng(0)
    # "the" in every chunk, "rare" in a few, "mid" in many
    docs = [["the", *(["mid"] if i % 3 == 0 else []), *(["rare"] if i % 50 == 0 else [])] for i in range(600)]
    docs = [d + [f"w{x}" for x in rng.integers(0, 40, 5)] for d in docs]
    lex = build_lexical(docs, docs)
    query = {"the": 1.0, "mid": 1.0, "rare": 1.0}
    exact = lex.scores("text", query)
    # below the threshold: exact, whatever the budget
    monkeypatch.setattr(LexicalIndex, "PRUNE_POSTINGS", 10)
    assert np.array_equal(lex.scores("text", query), exact)
    monkeypatch.setattr(LexicalIndex, "PRUNE_CHUNKS", 100)
    monkeypatch.setattr(LexicalIndex, "PRUNE_KEEP", 5)
    pruned = lex.scores("text", query)
    best = np.argsort(-pruned, kind="stable")[:5]
    # the chunks the rare term reaches are scored exactly, common terms included, and rank first
    assert set(best) <= {i for i in range(600) if i % 50 == 0}
    assert np.allclose(pruned[best], exact[best])
    assert set(best) <= set(np.argsort(-exact, kind="stable")[:12])
    # the others keep only what the rarer terms give them: never more than exact
    assert np.all(pruned <= exact + 1e-6) and pruned[1] == 0.0 < exact[1]
    # a query within the budget is exact (summed rarest first)
    monkeypatch.setattr(LexicalIndex, "PRUNE_POSTINGS", 10_000)
    assert np.allclose(lex.scores("text", query), exact, rtol=1e-6)


def test_sparse_vectors_give_the_bm25_scores() -> None:
    """What Milvus computes (chunk vector · query vector) is the local BM25 score."""
    from index.lexical import sparse_documents, sparse_query

    docs = [["a", "b", "b"], ["b", "c"], [], ["a", "a", "d"], ["c"], ["e"] * 9]
    lex = build_lexical(docs, docs)
    avgdl = sum(max(len(d), 1) for d in docs) / len(docs)
    vectors = sparse_documents(docs, avgdl)
    assert vectors[2] == {0: 1.0}  # no terms: the marker no query has
    for terms in ({"a": 1.0}, {"a": 1.0, "b": 2.5}, {"c": 0.3, "zz": 1.0, "d": 1.0, "e": 0.5}):
        q = sparse_query(terms, lambda t: lex.df("text", t), lex.n)
        got = [sum(w * v.get(k, 0.0) for k, w in q.items()) for v in vectors]
        assert np.allclose(got, lex.scores("text", terms), rtol=1e-5, atol=1e-7)
