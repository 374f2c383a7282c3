from __future__ import annotations

from pathlib import Path

import pytest

from index.lexicon import Lexicon, build_english_sound_index
from rag.query import analyze, is_multipart


@pytest.fixture(scope="module")
def lexicon(shared_cache: Path) -> Lexicon:
    return Lexicon.load(shared_cache)


@pytest.mark.parametrize(
    "question",
    [
        "报道Anthropic下调毛利率指引的那篇文章来自哪家媒体?发布于哪一天?",
        "Anthropic和OpenAI对2025年毛利率的预期分别是多少?",
        "What was Google Cloud's backlog in 2Q25, and how fast was it growing?",
        "Which company has earmarked more money for AI, Alibaba or Baidu?",
        "How do results in private schools compare to public ones?",
    ],
)
def test_questions_asking_several_things_are_multipart(question: str) -> None:
    assert is_multipart(question)


@pytest.mark.parametrize(
    "question",
    [
        "What is Meta's 2026 capex guidance?",
        "麻省理工一周的上课课程包含了讲堂、辅导课、测试以及什么?",  # one missing item of a list
        "How did the company grow its revenue?",
        "字节跳动2025年的资本开支规模是多少?",
    ],
)
def test_questions_asking_one_thing_are_not(question: str) -> None:
    assert not is_multipart(question)


def test_a_name_written_by_sound_is_glossed_with_the_corpus_word(lexicon: Lexicon) -> None:
    idx = build_english_sound_index(["fresno", "valley", "road"], lexicon)
    q = analyze("哪条路连接弗雷斯诺和加州中央山谷?", lexicon, english_sound_index=idx)
    assert "fresno" in q.glosses["弗雷斯诺"]
    # jieba's pieces of the name carry the gloss too: coverage is counted over them
    pieces = [t for t in q.text_terms if t in "弗雷斯诺"]
    assert pieces and all("fresno" in q.glosses[t] for t in pieces)
    assert q.gloss_terms["fresno"] > 0
    assert "fresno" not in analyze("哪条路连接弗雷斯诺和加州中央山谷?", lexicon).glosses.get("弗雷斯诺", ())


@pytest.mark.parametrize(
    ("question", "names"),
    [
        # an ordinary word capitalised for standing first is no name
        ("Highways in Kenya were financed by which lender?", ["kenya"]),
        ("Boycotts of the brand began in what year?", []),
        ("Early reports put the loss at how much?", []),
        # a name stays one wherever it stands: capitalised in the dictionary, possessive, or not first
        ("Paris hosted the summit in which year?", ["paris"]),
        ("Apple's revenue grew by how much?", ["apple"]),
        ("Which early investor backed Highways Ltd?", ["highways", "ltd"]),
        ("Apple在2025年的营收是多少?", ["apple"]),
    ],
)
def test_a_questions_first_word_is_a_name_only_if_it_is_one(
    lexicon: Lexicon, question: str, names: list[str]
) -> None:
    assert analyze(question, lexicon).names == names


def test_without_a_dictionary_a_capitalised_first_word_is_taken_for_a_name() -> None:
    assert analyze("Highways in Kenya were financed by which lender?", None).names == ["highways", "kenya"]
