from __future__ import annotations

import pytest

from rag.followup import is_follow_up, names_in, read_in_context

META = "What is Meta's 2026 capex guidance?"
META_ZH = "Meta预计2026年资本支出是多少?"
NAMES = frozenset({"微软", "字节跳动", "阿里巴巴", "阿里"})  # a glossary's Chinese names


@pytest.mark.parametrize(
    ("history", "question", "read_as"),
    [
        # another name, the same measure and period
        ([META], "And Microsoft's?", "What is Microsoft's 2026 capex guidance?"),
        ([META], "How about Alibaba?", "What is Alibaba's 2026 capex guidance?"),
        ([META_ZH], "那微软呢?", "微软预计2026年资本支出是多少?"),
        (["字节跳动2025年的资本开支是多少?"], "阿里巴巴呢?", "阿里巴巴2025年的资本开支是多少?"),
        # another period
        ([META], "And in 2025?", "What is Meta's 2025 capex guidance?"),
        (["字节跳动2025年的资本开支是多少?"], "那2024年呢?", "字节跳动2024年的资本开支是多少?"),
        # the same name and period, another measure
        ([META], "What about its revenue?", "Meta's revenue in 2026?"),
        ([META_ZH], "那它的营收呢?", "Meta2026年的营收?"),
        (["华为2025年上半年的研发投入是多少?"], "占营收的比例是多少?", "华为2025年上半年占营收的比例是多少?"),
        # a question with its own subject and measure keeps them, the period is carried over
        ([META], "And Microsoft's backlog?", "Microsoft's backlog in 2026?"),
        ([META], "What about Microsoft's backlog next quarter?", "Microsoft's backlog next quarter?"),
        # the name after the same preposition is the one replaced
        (["How much is Nvidia investing in Intel?"], "And in xAI?", "How much is Nvidia investing in xAI?"),
        # a Chinese question written mostly in Latin letters is still a Chinese follow-up
        (
            ["鸿蒙系统在全球市场的占比是多少?"],
            "那Google的Android呢?",
            "Google的Android系统在全球市场的占比是多少?",
        ),
    ],
)
def test_a_follow_up_is_read_against_the_question_before(
    history: list[str], question: str, read_as: str
) -> None:
    assert read_in_context(question, history, NAMES) == read_as


@pytest.mark.parametrize("question", ["What is the outlook for AI chips?", "阿里巴巴2025年的资本开支是多少?"])
def test_a_question_that_stands_on_its_own_is_left_as_it_is(question: str) -> None:
    assert not is_follow_up(question, NAMES)
    assert read_in_context(question, [META], NAMES) == question


def test_a_pronoun_with_a_name_of_its_own_keeps_the_name() -> None:
    q = "Why did Anthropic cut its 2025 gross margin forecast?"
    assert read_in_context(q, [META], NAMES) == q


def test_the_conversation_is_read_turn_by_turn() -> None:
    # the third question leans on the second, which leans on the first
    history = [META, "And Microsoft's?"]
    assert read_in_context("And in 2025?", history, NAMES) == "What is Microsoft's 2025 capex guidance?"


def test_a_blank_question_is_left_blank() -> None:
    # found by schemathesis: a blank question with a history used to raise IndexError (a 500)
    assert read_in_context("\r", ["0"], NAMES) == ""
    assert read_in_context("and?", [META], NAMES) == META  # nothing of its own: the question before


def test_no_history_no_reading() -> None:
    assert read_in_context("And Microsoft's?", [], NAMES) == "And Microsoft's?"
    assert read_in_context("And Microsoft's?", ["  "], NAMES) == "And Microsoft's?"


def test_names_are_found_in_either_script() -> None:
    assert names_in("What is Google Cloud's backlog in Q2 2025?") == ["Google Cloud"]
    assert names_in("阿里巴巴呢?", NAMES) == ["阿里巴巴"]  # not 阿里 inside it
