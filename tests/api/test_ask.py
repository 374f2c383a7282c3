"""POST /ask: the answer object, and the same answer as Server-Sent Events."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import CORPUS
from tests.rag.test_deltas import check_deltas

Q = "What is Meta's 2026 capex guidance?"


def parse_sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_ask_returns_a_cited_answer(client):
    r = client.post("/ask", json={"question": Q})
    assert r.status_code == 200
    a = r.json()
    assert a["question"] == Q and a["abstained"] is False and a["mode"] == "extractive"
    assert "1150亿" in a["answer"] and "1350亿" in a["answer"]
    assert "[1]" in a["answer"]
    assert a["citations"] and a["citations"][0]["n"] == 1
    for c in a["citations"]:
        text = CORPUS[c["doc"]]
        assert text[c["quote_start"] : c["quote_end"]] == c["quote"]
        assert c["start"] <= c["quote_start"] <= c["quote_end"] <= c["end"]
        assert {"title", "source", "date", "chunk_id"} <= c.keys()
    assert {"retrieve", "answer", "total"} <= a["timings_ms"].keys()
    assert "hits" not in a


def test_include_hits(client):
    a = client.post("/ask", json={"question": Q, "include_hits": True}).json()
    assert a["hits"] and a["hits"][0]["rank"] == 1


def test_filters_apply_to_answers(client):
    a = client.post("/ask", json={"question": Q, "filters": {"docs": ["solar.md"]}}).json()
    assert all(c["doc"] == "solar.md" for c in a["citations"])
    assert "1150亿" not in a["answer"]


def test_stream_sends_deltas_then_the_answer(client):
    plain = client.post("/ask", json={"question": Q}).json()
    with client.stream("POST", "/ask", json={"question": Q, "stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    events = parse_sse(text)
    kinds = [k for k, _ in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"delta"} and len(kinds) >= 2
    streamed = "".join(d["text"] for k, d in events if k == "delta")
    done = events[-1][1]
    assert streamed == done["answer"]  # extractive: the streamed text is the final text
    assert done["answer"] == plain["answer"] and done["citations"] == plain["citations"]


STREAMED = [
    (Q, []),  # English, a Chinese quote, a lead line
    ("Meta的2026年资本支出指引是多少？", []),  # Chinese, a lead line
    ("Why did solar panel prices fall?", []),  # no lead line, an English quote
    ("And Microsoft's?", [Q]),  # a follow-up: "Read as: ..." first
    ("那微软呢?", ["Meta的2026年资本支出指引是多少？"]),
    ("What is the boiling point of liquid nitrogen on Titan?", []),  # an abstention
]


@pytest.mark.parametrize(("question", "history"), STREAMED)
def test_stream_is_the_answer_in_small_deltas_in_order(client, question, history):
    plain = client.post("/ask", json={"question": question, "history": history}).json()
    events = parse_sse(
        client.post("/ask", json={"question": question, "history": history, "stream": True}).text
    )
    assert [k for k, _ in events] == ["delta"] * (len(events) - 1) + ["done"]
    done = events[-1][1]
    assert done["answer"] == plain["answer"] and done["citations"] == plain["citations"]
    # the deltas joined are the content: the reading of a follow-up, then the answer
    content = (f"Read as: {done['read_as']}\n" if done["read_as"] else "") + done["answer"]
    lines = ["".join(line) for line in check_deltas([d["text"] for k, d in events[:-1]], content)]
    if done["read_as"]:
        assert lines.pop(0) == f"Read as: {done['read_as']}\n"  # first, before the lead line
    if done["lead"]:
        assert lines[0] == done["lead"] + "\n"  # then the lead line, before the quotes


@pytest.mark.parametrize("stream", [False, True])
def test_question_errors(client, shared_engine, stream):
    r = client.post("/ask", json={"question": "", "stream": stream})
    assert r.status_code == 422 and r.json()["error"]["type"] == "invalid_request"
    r = client.post("/ask", json={"question": " \n\t ", "stream": stream})
    assert r.status_code == 400 and r.headers["content-type"] == "application/json"
    assert "empty" in r.json()["error"]["message"]
    too_long = "问" * (shared_engine.settings.max_question_chars + 1)
    r = client.post("/ask", json={"question": too_long, "stream": stream})
    assert r.status_code == 400 and "limit" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("content", "ctype"),
    [
        (b'{"question": ', "application/json"),
        (b"\xff\xfe{}", "application/json"),
        (b"question=hi", "application/x-www-form-urlencoded"),
        (b"[1, 2]", "application/json"),
    ],
)
def test_malformed_bodies_get_4xx_json(client, content, ctype):
    r = client.post("/ask", content=content, headers={"Content-Type": ctype})
    assert 400 <= r.status_code < 500
    assert r.json()["error"]["message"]


def test_unknown_question_abstains_or_answers_with_citations(client):
    a = client.post("/ask", json={"question": "zebra migration patterns in Kenya"}).json()
    if a["abstained"]:
        assert a["citations"] == []
    else:
        assert a["citations"]


class _FailingMidStream:
    """An engine whose answer stream breaks after the first piece of text (e.g. the LLM server died)."""

    ready = True
    llm = None

    def __init__(self, settings):
        self.settings = settings

    def ask_stream(self, question, filters=None, history=()):
        from index.errors import UpstreamError

        yield "partial answer "
        raise UpstreamError("the LLM at http://127.0.0.1:9 failed")


def test_failure_after_the_stream_started_is_an_error_event(shared_engine):
    from fastapi.testclient import TestClient

    from api.app import create_app

    app = create_app(shared_engine.settings, _FailingMidStream(shared_engine.settings))  # type: ignore[arg-type]
    with TestClient(app) as c:
        r = c.post("/ask", json={"question": "anything", "stream": True})
        assert r.status_code == 200
        events = parse_sse(r.text)
        assert events[0] == ("delta", {"text": "partial answer "})
        assert events[-1] == (
            "error",
            {"error": {"type": "upstream_error", "message": "the LLM at http://127.0.0.1:9 failed"}},
        )
        r = c.post(
            "/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}], "stream": True}
        )
        lines = [line for line in r.text.split("\n") if line.startswith("data: ")]
        assert json.loads(lines[-1][6:])["error"]["type"] == "upstream_error"


def test_a_follow_up_is_read_against_the_history(client):
    a = client.post("/ask", json={"question": "And Microsoft's?", "history": [Q]}).json()
    assert a["read_as"] == "What is Microsoft's 2026 capex guidance?"
    assert a["question"] == "And Microsoft's?"
    assert "375亿美元" in " ".join(c["quote"] for c in a["citations"])
    # without the history the same words are not read so
    assert client.post("/ask", json={"question": "And Microsoft's?"}).json().get("read_as") is None


def test_history_is_checked_like_a_question(client):
    r = client.post("/ask", json={"question": Q, "history": ["x" * 100_001]})
    assert r.status_code == 422
    r = client.post("/ask", json={"question": Q, "history": [Q, "x" * 5000]})  # over RAG_MAX_QUESTION_CHARS
    assert r.status_code == 400 and "history[1]" in r.json()["error"]["message"]


def test_a_blank_question_with_a_history_is_a_400(client):
    r = client.post("/ask", json={"question": "\r", "history": ["0"]})
    assert r.status_code == 400 and "empty" in r.json()["error"]["message"]
