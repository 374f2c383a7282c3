"""Score fusion with per-language normalisation (``rag.retrieve.fuse``), on hand-made signals."""

from __future__ import annotations

import numpy as np

from rag.retrieve import FusionWeights, Signals, fuse

W = FusionWeights(aligned=1.0, dense=1.0, text=0.1, gloss=0.1)


def _signals(chinese: list[bool], use: list[float], e5: list[float], text: list[float]) -> Signals:
    ids = np.arange(len(chinese))
    return Signals(
        ids=ids,
        chinese=np.array(chinese),
        dense={"use": dict(enumerate(use)), "e5": dict(enumerate(e5))},
        lexical={"text": np.array(text, dtype=np.float32)},
    )


def test_the_aligned_model_decides_between_languages() -> None:
    # a Chinese question: its Chinese sibling passages match its words (text) and sit closer by e5,
    # the English paragraph that answers it is closest by the aligned model
    sig = _signals(
        chinese=[True, True, False],
        use=[0.40, 0.35, 0.55],
        e5=[0.85, 0.80, 0.70],
        text=[12.0, 9.0, 0.0],
    )
    fused, per = fuse(sig, W)
    assert int(np.argmax(fused)) == 2
    assert per[2] == {"use": 0.55, "e5": 0.70, "text": 0.0}


def test_within_one_language_the_words_count() -> None:
    # same aligned and e5 scores: the passage that has the question's words ranks first
    sig = _signals(chinese=[True, True], use=[0.5, 0.5], e5=[0.8, 0.8], text=[3.0, 10.0])
    fused, _ = fuse(sig, W)
    assert fused[1] > fused[0]


def test_lexical_scores_are_not_compared_across_languages() -> None:
    # raw BM25 in the English group is far lower, but each group's best gets the same lexical share
    sig = _signals(chinese=[True, False], use=[0.5, 0.5], e5=[0.8, 0.8], text=[30.0, 2.0])
    fused, _ = fuse(sig, W)
    assert np.isclose(fused[0], fused[1])
    one_group = Signals(sig.ids, None, sig.dense, sig.lexical)  # without languages: plain fusion
    fused, _ = fuse(one_group, W)
    assert fused[0] > fused[1]


def test_a_candidate_missing_from_a_dense_list_gets_its_floor() -> None:
    sig = Signals(
        ids=np.array([0, 1]),
        chinese=None,
        dense={"use": {0: 0.6}},
        lexical={"text": np.array([0.0, 5.0], dtype=np.float32)},
    )
    _, per = fuse(sig, W)
    assert per[1]["use"] == 0.6  # never below what the list shows


def test_without_an_aligned_model_languages_are_not_split() -> None:
    # a single embedder cannot compare a Chinese passage with an English one: plain fusion, where
    # the passage with the question's words wins
    sig = Signals(
        ids=np.array([0, 1]),
        chinese=np.array([True, False]),
        dense={"dense": {0: 0.5, 1: 0.5}},
        lexical={"text": np.array([8.0, 2.0], dtype=np.float32)},
    )
    fused, _ = fuse(sig, W)
    assert fused[0] > fused[1]


def test_e5_ranks_only_passages_in_the_questions_language() -> None:
    # an English question; two Chinese passages that e5 tells apart, but e5 across languages says
    # little: their order is the aligned model's
    sig = Signals(
        ids=np.array([0, 1]),
        chinese=np.array([True, True]),
        dense={"use": {0: 0.50, 1: 0.52}, "e5": {0: 0.90, 1: 0.80}},
        lexical={},
        question_chinese=False,
    )
    fused, _ = fuse(sig, W)
    assert fused[1] > fused[0]
    chinese_question = Signals(sig.ids, sig.chinese, sig.dense, sig.lexical, question_chinese=True)
    fused, _ = fuse(chinese_question, W)
    assert fused[0] > fused[1]
