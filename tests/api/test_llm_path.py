"""The service with a local LLM configured: a stand-in OpenAI-protocol server on loopback replies well,
cites badly, or fails; the service returns verified LLM answers or falls back to extractive ones, and
streams each verified sentence while the LLM is still writing the next."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.llm import OpenAICompatibleClient
from tests.api.conftest import CORPUS, live_server
from tests.api.llm_stub import Behaviour, llm_stub

Q = "What is Meta's 2026 capex guidance?"
GOOD = "Meta guided 2026 capital expenditures of $115-135 billion [1]."
UNSUPPORTED = "Analysts expect a further $40 billion in 2027 [1]."  # figures its passage lacks
LATER = "The top end is nearly twice its 2025 capex [1]."


@pytest.fixture
def llm_service(make_engine):
    with llm_stub() as (url, stub):
        engine = make_engine(llm_url=url, llm_model="stub-model", llm_timeout_s=1.0)
        assert isinstance(engine.llm, OpenAICompatibleClient)
        with TestClient(create_app(engine.settings, engine)) as c:
            yield c, stub


def _sse(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        f = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((f["event"], json.loads(f["data"])))
    return out


def test_good_reply_is_the_answer(llm_service):
    c, stub = llm_service
    stub.reply(GOOD)
    a = c.post("/ask", json={"question": Q}).json()
    assert a["mode"] == "llm" and a["answer"] == GOOD and not a["abstained"]
    cite = a["citations"][0]
    assert cite["n"] == 1 and cite["doc"] == "digest.txt"
    assert CORPUS["digest.txt"][cite["quote_start"] : cite["quote_end"]] == cite["quote"]
    assert "1150亿" in cite["quote"]
    assert "llm" in a["timings_ms"]
    req = stub.requests[-1]
    assert req["model"] == "stub-model"
    prompt = req["messages"][-1]["content"]
    assert "[1] " in prompt and Q in prompt and "1150亿美元" in prompt


@pytest.mark.parametrize(
    "behaviour",
    [
        Behaviour(text="Meta guided capex of $999 billion [1]."),
        Behaviour(text="Meta guided capex of $115-135 billion [42]."),
        Behaviour(text="Meta guided capex of $115-135 billion."),
        Behaviour(status=500),
        Behaviour(text=GOOD, delay_s=2.5),  # longer than the 1 s timeout
    ],
    ids=["wrong-figure", "unknown-marker", "uncited", "http-500", "timeout"],
)
def test_bad_or_failing_llm_falls_back_to_extractive(llm_service, behaviour):
    c, stub = llm_service
    stub.script = lambda req: behaviour
    a = c.post("/ask", json={"question": Q}).json()
    assert a["mode"] == "extractive"
    assert "1150亿" in a["answer"] and a["citations"]


def test_partly_bad_reply_keeps_the_verified_part(llm_service):
    c, stub = llm_service
    stub.reply(GOOD + " Analysts expect a further $40 billion in 2027 [1]. It is a record.")
    a = c.post("/ask", json={"question": Q}).json()
    assert a["mode"] == "llm" and a["answer"] == GOOD


def test_ask_stream_streams_only_the_verified_reply(llm_service):
    c, stub = llm_service
    stub.reply(GOOD + " " + UNSUPPORTED + " An uncited claim.", stream_pieces=5)
    events = _sse(c.post("/ask", json={"question": Q, "stream": True}).text)
    assert [k for k, _ in events][-1] == "done" and len(events) > 2
    deltas = [d["text"] for k, d in events if k == "delta"]
    assert "".join(deltas) == GOOD == events[-1][1]["answer"] and events[-1][1]["mode"] == "llm"
    assert not any("40" in d or "uncited" in d for d in deltas)


def test_ask_stream_falls_back_when_the_llm_fails(llm_service):
    c, stub = llm_service
    stub.fail(502)
    events = _sse(c.post("/ask", json={"question": Q, "stream": True}).text)
    assert events[-1][0] == "done" and events[-1][1]["mode"] == "extractive"
    assert "".join(d["text"] for k, d in events if k == "delta") == events[-1][1]["answer"]


def test_chat_stream_sends_only_verified_text(llm_service):
    c, stub = llm_service
    stub.reply(GOOD + " An uncited claim. " + UNSUPPORTED, stream_pieces=5)
    oai = openai.OpenAI(base_url=f"{c.base_url}/v1", api_key="x", http_client=c, max_retries=0)
    chunks = list(
        oai.chat.completions.create(model="m", messages=[{"role": "user", "content": Q}], stream=True)
    )
    pieces = [ch.choices[0].delta.content or "" for ch in chunks if ch.choices]
    assert "".join(pieces) == GOOD and not any("40" in p for p in pieces)
    final = chunks[-1].model_extra or {}
    assert final["search_results"][0]["doc"] == "digest.txt"
    resp = oai.chat.completions.create(model="m", messages=[{"role": "user", "content": Q}])
    assert resp.choices[0].message.content == GOOD


def test_chinese_question_needs_a_chinese_reply(llm_service):
    c, stub = llm_service
    q = "Meta的2026年资本支出指引是多少？"
    stub.reply(GOOD)  # English reply to a Chinese question
    assert c.post("/ask", json={"question": q}).json()["mode"] == "extractive"
    stub.reply("Meta预计2026年资本支出在1150亿至1350亿美元之间[1]。")
    a = c.post("/ask", json={"question": q}).json()
    assert a["mode"] == "llm" and a["answer"] == "Meta预计2026年资本支出在1150亿至1350亿美元之间[1]。"


# ------------------------------------------------------------------ streaming over a real connection


@pytest.fixture
def live_llm_service(make_engine):
    """The service on a loopback port (TestClient collects a whole response before returning it) with
    an LLM stub that stops after its first sentence until the test lets it go on."""
    with llm_stub() as (url, stub):
        engine = make_engine(llm_url=url, llm_model="stub-model", llm_timeout_s=30.0)
        stub.script = lambda req: Behaviour(
            pieces=[GOOD[:20], GOOD[20:] + " ", UNSUPPORTED[:30], UNSUPPORTED[30:] + " ", LATER],
            hold_after_pieces=3,
        )
        with live_server(create_app(engine.settings, engine)) as base:
            yield base, stub
        stub.release.set()


def _first_content_then_release(stub, texts) -> list[str]:
    """The stream's texts; asserts the first arrived while the LLM stub was still holding its reply."""
    out = []
    for text in texts:
        if text and not out:
            assert not stub.last_piece_sent.is_set(), "the first text came only after the LLM had finished"
            stub.release.set()
        if text:
            out.append(text)
    assert stub.last_piece_sent.is_set()
    return out


def test_chat_streams_the_first_verified_sentence_before_the_llm_has_finished(live_llm_service):
    base, stub = live_llm_service
    oai = openai.OpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0)
    chunks = []

    def texts():
        for ch in oai.chat.completions.create(
            model="m", messages=[{"role": "user", "content": Q}], stream=True
        ):
            chunks.append(ch)
            yield (ch.choices[0].delta.content or "") if ch.choices else ""

    pieces = _first_content_then_release(stub, texts())
    assert "".join(pieces) == f"{GOOD} {LATER}"  # the unsupported sentence between them never went out
    assert not any("40" in p or "2027" in p for p in pieces)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].model_extra or {})["search_results"][0]["doc"] == "digest.txt"


def test_ask_streams_the_first_verified_sentence_before_the_llm_has_finished(live_llm_service):
    base, stub = live_llm_service
    events: list[tuple[str, dict]] = []

    def texts():
        with httpx.stream("POST", f"{base}/ask", json={"question": Q, "stream": True}, timeout=30) as r:
            block = ""
            for line in r.iter_lines():
                if line:
                    block += line + "\n"
                    continue
                events.extend(_sse(block))
                block = ""
                kind, data = events[-1]
                yield data["text"] if kind == "delta" else ""

    pieces = _first_content_then_release(stub, texts())
    assert "".join(pieces) == f"{GOOD} {LATER}" == events[-1][1]["answer"]
    assert events[-1][0] == "done" and events[-1][1]["mode"] == "llm"
