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
