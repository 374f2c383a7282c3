"""The OpenAI chat-completions protocol, so the official ``openai`` client and chat front ends work.

The last user message is the question; the user's earlier messages are the conversation a follow-up
("And Microsoft's?") is read against, and the reply then opens with how it was read ("Read as: ...").
Citations ride along as Perplexity's API does: ``citations`` (one URL per ``[n]``, pointing
at ``GET /documents/{id}?start=&end=`` for the quoted span) and ``search_results`` (title, url, date,
plus the exact offsets). Streamed, the reply comes in small deltas (a word, a few Chinese characters,
a whole ``[n]``) as soon as it is final, and the citations in the last chunk, the one with
``finish_reason``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.deps import EngineDep, SettingsDep, check_question, check_text
from api.routes.ask import SSE_EVENT_SCHEMA, SSE_HEADERS
from api.schemas import ERROR_RESPONSES, ChatCompletion, ChatRequest, ModelList, to_filters
from index.errors import InputError
from rag.deltas import deltas
from rag.generate import count_tokens
from rag.types import Answer

log = logging.getLogger(__name__)
router = APIRouter(tags=["openai"])

MODEL_ID = "bilingual-rag"
_STREAM_DOC = {
    "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
    "description": "A chat.completion object, or with stream=true chat.completion.chunk events and [DONE].",
}


@router.get("/v1/models", response_model=ModelList)
def list_models(request: Request) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": MODEL_ID, "object": "model", "created": request.app.state.started, "owned_by": "local"}
        ],
    }


def _question(body: ChatRequest) -> tuple[str, list[str]]:
    """The last user message, and the user's messages before it: a follow-up is read against them."""
    users = [m.text().strip() for m in body.messages if m.role == "user"]
    if not users or not users[-1]:
        raise InputError("the messages have no user message with text: the last user message is the question")
    return users[-1], [u for u in users[:-1] if u]


def _content(answer: Answer) -> str:
    """The reply as a chat client shows it: how a follow-up was read, then the answer."""
    return f"Read as: {answer.read_as}\n{answer.text}" if answer.read_as else answer.text


def _sources(answer: Answer, base_url: str) -> tuple[list[str], list[dict[str, Any]]]:
    urls, results = [], []
    for c in answer.citations:
        url = f"{base_url}documents/{quote(c.doc)}?start={c.quote_start}&end={c.quote_end}"
        urls.append(url)
        results.append(
            {
                "n": c.n,
                "title": c.title,
                "url": url,
                "date": c.date,
                "source": c.source,
                "doc": c.doc,
                "chunk_id": c.chunk_id,
                "quote": c.quote,
                "start": c.start,
                "end": c.end,
                "quote_start": c.quote_start,
                "quote_end": c.quote_end,
                "page": c.page,
                "provenance": c.provenance,
            }
        )
    return urls, results


def _usage(body: ChatRequest, completion: str) -> dict[str, int]:
    prompt = sum(count_tokens(m.text()) for m in body.messages)
    done = count_tokens(completion)
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}


@router.post(
    "/v1/chat/completions", response_model=ChatCompletion, responses={**ERROR_RESPONSES, 200: _STREAM_DOC}
)
def chat_completions(body: ChatRequest, request: Request, engine: EngineDep, settings: SettingsDep) -> Any:
    for i, m in enumerate(body.messages):
        check_text(m.text(), f"message {i}")
    question, history = _question(body)
    check_question(question, settings)
    filters = to_filters(body.filters)
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    # never the request's Host header (which a client sets at will): relative, or the configured address
    base = settings.public_url.rstrip("/") + "/"
    if not body.stream:
        answer = engine.ask(question, filters, history)
        urls, results = _sources(answer, base)
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": _content(answer)},
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(body, _content(answer)),
            "citations": urls,
            "search_results": results,
            "abstained": answer.abstained,
        }
    # retrieval runs in this call, before the response starts: bad input is still a JSON 4xx
    items = engine.ask_stream(question, filters, history)
    return StreamingResponse(
        _chunks(items, body, cid, created, base, request.app.state.describe_error),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


def _data(obj: dict[str, Any]) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


def _chunk(cid: str, created: int, delta: dict[str, Any] | None, finish: str | None, **extra: Any) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    head = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID}
    return _data({**head, "choices": choices, **extra})


def _chunks(
    items: Iterator[str | Answer],
    body: ChatRequest,
    cid: str,
    created: int,
    base: str,
    describe_error: Callable[[BaseException], tuple[int, str, str]],
) -> Iterator[str]:
    """The answer as ``chat.completion.chunk`` events: its text in small deltas, then a last chunk
    with ``finish_reason`` and the sources.

    This protocol cannot take text back, so every delta must be final: ``Engine.ask_stream`` sends
    only text the answer keeps (an LLM's reply sentence by sentence, each once verified). Should the
    final content still extend what was sent, the rest goes out before the last chunk.
    """
    yield _chunk(cid, created, {"role": "assistant", "content": ""}, None)
    sent = ""
    answer: Answer | None = None
    try:
        for item in items:
            if isinstance(item, Answer):
                answer = item
                break
            if item:
                sent += item
                yield _chunk(cid, created, {"content": item}, None)
    except Exception as e:
        log.exception("chat stream failed")
        _, kind, message = describe_error(e)
        yield _data({"error": {"type": kind, "message": message}})
        return
    if answer is None:
        yield _chunk(cid, created, {}, "stop")
        yield "data: [DONE]\n\n"
        return
    content = _content(answer)
    if content.startswith(sent):
        for piece in deltas(content[len(sent) :]):
            yield _chunk(cid, created, {"content": piece}, None)
    else:
        log.error("chat stream: the final answer does not extend the text already sent")
    urls, results = _sources(answer, base)
    yield _chunk(cid, created, {}, "stop", citations=urls, search_results=results, abstained=answer.abstained)
    if body.stream_options and body.stream_options.include_usage:
        yield _chunk(cid, created, None, None, usage=_usage(body, content))
    yield "data: [DONE]\n\n"
