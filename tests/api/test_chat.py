"""The OpenAI chat-completions protocol, exercised with the official ``openai`` client (in process)."""

from __future__ import annotations

import json

import openai
import pytest

from tests.api.conftest import CORPUS
from tests.api.test_ask import STREAMED
from tests.rag.test_deltas import check_deltas

Q = "What is Meta's 2026 capex guidance?"


@pytest.fixture(scope="module")
def oai(client):
    # TestClient is an httpx client: the official client talks to the app in process
    return openai.OpenAI(
        base_url=f"{client.base_url}/v1", api_key="unused", http_client=client, max_retries=0
    )


def test_models_lists_the_service(oai, client):
    models = oai.models.list()
    assert [m.id for m in models.data] == ["bilingual-rag"]
    assert client.get("/v1/models").json()["object"] == "list"


def _check_sources(extra: dict, answer: str, client) -> None:
    citations, results = extra["citations"], extra["search_results"]
    assert citations and len(citations) == len(results)
    assert [r["n"] for r in results] == list(range(1, len(results) + 1))
    for n, (url, r) in enumerate(zip(citations, results, strict=True), start=1):
        assert f"[{n}]" in answer
        assert url == r["url"] and r["title"] and r["doc"] in CORPUS
        assert CORPUS[r["doc"]][r["quote_start"] : r["quote_end"]] == r["quote"]
        # the URL opens exactly the quoted span
        assert client.get(url).json()["text"] == r["quote"]


def test_chat_completion_answers_with_figures_and_citations(oai, client):
    resp = oai.chat.completions.create(
        model="bilingual-rag",
        messages=[
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": Q},
        ],
    )
    assert resp.object == "chat.completion"
    assert resp.choices[0].finish_reason == "stop"
    content = resp.choices[0].message.content
    assert "1150亿" in content and "1350亿" in content
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens > 0
    extra = resp.model_extra or {}
    _check_sources(extra, content, client)
    assert extra["abstained"] is False


def test_chat_completion_stream(oai, client):
    plain = oai.chat.completions.create(model="x", messages=[{"role": "user", "content": Q}])
    stream = oai.chat.completions.create(
        model="x",
        messages=[{"role": "user", "content": Q}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0].choices[0].finish_reason == "stop"
    _check_sources(finals[0].model_extra or {}, text, client)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_content_parts_are_accepted(client):
    r = client.post(
        "/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": Q}]}]},
    )
    assert r.status_code == 200 and "1150亿" in r.json()["choices"][0]["message"]["content"]


def test_unknown_sampling_parameters_are_ignored(client):
    r = client.post(
        "/v1/chat/completions",
        json={
            "model": "m",
            "messages": [{"role": "user", "content": Q}],
            "temperature": 0.2,
            "top_p": 1,
            "n": 1,
        },
    )
    assert r.status_code == 200


def test_stream_ends_with_done(client):
    with client.stream(
        "POST", "/v1/chat/completions", json={"messages": [{"role": "user", "content": Q}], "stream": True}
    ) as r:
        lines = [line for line in r.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith("data: ") for line in lines)
    assert json.loads(lines[0][6:])["object"] == "chat.completion.chunk"


@pytest.mark.parametrize(
    ("messages", "status"),
    [
        ([], 422),
        ([{"role": "system", "content": "only a system prompt"}], 400),
        ([{"role": "user", "content": "   "}], 400),
        ([{"role": "user", "content": Q}, {"role": "assistant", "content": "..."}], 200),
        ([{"role": "user"}], 400),
        ([{"content": "no role"}], 422),
    ],
)
def test_message_validation(client, messages, status):
    r = client.post("/v1/chat/completions", json={"model": "m", "messages": messages})
    assert r.status_code == status
    if status != 200:
        assert r.json()["error"]["message"]


def test_openai_client_sees_errors_as_api_errors(oai, shared_engine):
    with pytest.raises(openai.BadRequestError) as e:
        oai.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "x" * (shared_engine.settings.max_question_chars + 5)}],
        )
    assert "limit" in str(e.value)


def test_a_follow_up_is_read_against_the_earlier_user_messages(oai):
    messages = [
        {"role": "user", "content": Q},
        {"role": "assistant", "content": "US$115–135 billion [1] …"},
        {"role": "user", "content": "And Microsoft's?"},
    ]
    r = oai.chat.completions.create(model="bilingual-rag", messages=messages)
    content = r.choices[0].message.content
    assert content.startswith("Read as: What is Microsoft's 2026 capex guidance?\n")
    assert "375亿美元" in content
    # streamed, the reading comes first too and the chunks add up to the same reply
    stream = oai.chat.completions.create(model="bilingual-rag", messages=messages, stream=True)
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert streamed == content


@pytest.mark.parametrize(("question", "history"), STREAMED)
def test_stream_carries_the_answer_in_small_deltas(oai, client, question, history):
    messages = []
    for h in history:
        messages += [{"role": "user", "content": h}, {"role": "assistant", "content": "..."}]
    messages.append({"role": "user", "content": question})
    plain = oai.chat.completions.create(model="m", messages=messages)
    content = plain.choices[0].message.content
    chunks = list(oai.chat.completions.create(model="m", messages=messages, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks[1:] if c.choices and c.choices[0].delta.content]
    lines = check_deltas(pieces, content)
    if history:
        assert "".join(lines[0]).startswith("Read as: ")
    # one last chunk, with finish_reason and the sources, and no text
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals == [chunks[-1]] and not chunks[-1].choices[0].delta.content
    extra = chunks[-1].model_extra or {}
    assert extra["abstained"] is (plain.model_extra or {})["abstained"]
    if extra["abstained"]:
        assert extra["citations"] == []
    else:
        _check_sources(extra, content, client)
