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


def test_own_language_passages_matching_none_of_the_words_fall_behind() -> None:
    # an English question over a Chinese report with a few English tables: e5 finds the tables (the
    # only English passages), none of the question's words are in them, the Chinese passage has them
    sig = Signals(
        ids=np.array([0, 1]),
        chinese=np.array([False, True]),
        dense={"use": {0: 0.30, 1: 0.30}, "e5": {0: 0.80, 1: 0.76}},
        lexical={"text": np.array([0.0, 6.0], dtype=np.float32)},
        question_chinese=False,
    )
    fused, _ = fuse(sig, W)
    assert fused[1] > fused[0]
    # a Chinese question: the English passage cannot share its words, so it loses nothing for that
    zh = Signals(sig.ids, sig.chinese, sig.dense, sig.lexical, question_chinese=True)
    fused, _ = fuse(zh, FusionWeights(aligned=1.0, dense=1.0, text=0.1, gloss=0.1, rebase=0.0))
    assert np.isclose(fused[0], 0.30)


def test_rebase_lets_a_lone_candidate_language_win_only_on_the_aligned_cosine() -> None:
    # a Chinese question; the Chinese answer is not the best Chinese passage on every signal, the
    # one English candidate is its language's best at everything but further by the aligned model
    sig = Signals(
        ids=np.array([0, 1, 2]),
        chinese=np.array([True, True, False]),
        dense={"use": {0: 0.45, 1: 0.40, 2: 0.42}, "e5": {0: 0.86, 1: 0.88, 2: 0.80}},
        lexical={"text": np.array([20.0, 8.0, 2.0], dtype=np.float32)},
    )
    kept = FusionWeights(aligned=1.0, dense=4.0, text=0.1, gloss=0.1, rebase=0.0)
    lifted = FusionWeights(aligned=1.0, dense=4.0, text=0.1, gloss=0.1, rebase=1.0)
    fused, _ = fuse(sig, kept)
    assert int(np.argmax(fused)) == 2  # the Chinese answer's e5 shortfall counts against it
    fused, _ = fuse(sig, lifted)
    assert int(np.argmax(fused)) == 0  # between languages, the aligned cosine alone
    # within a language, rebasing changes nothing
    one = Signals(
        sig.ids[:2],
        sig.chinese[:2],
        {k: {i: v[i] for i in (0, 1)} for k, v in sig.dense.items()},
        sig.lexical,
    )
    a, _ = fuse(one, kept)
    b, _ = fuse(one, lifted)
    assert np.argsort(a).tolist() == np.argsort(b).tolist()


def test_cross_weights_apply_to_passages_in_the_other_language() -> None:
    # an English question over two Chinese passages: their BM25 (through the dictionary) counts by
    # the cross weights, so with those at zero the aligned model alone orders them
    sig = Signals(
        ids=np.array([0, 1]),
        chinese=np.array([True, True]),
        dense={"use": {0: 0.50, 1: 0.45}},
        lexical={"text": np.array([1.0, 9.0], dtype=np.float32)},
        question_chinese=False,
    )
    fused, _ = fuse(sig, FusionWeights(aligned=1.0, text=1.0, cross_text=0.0))
    assert fused[0] > fused[1]
    fused, _ = fuse(sig, FusionWeights(aligned=1.0, text=0.0, cross_text=1.0))
    assert fused[1] > fused[0]
