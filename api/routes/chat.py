"""The OpenAI chat-completions protocol, so the official ``openai`` client and chat front ends work.

The last user message is the question; the user's earlier messages are the conversation a follow-up
("And Microsoft's?") is read against, and the reply then opens with how it was read ("Read as: ...").
Citations ride along as Perplexity's API does: ``citations`` (one URL per ``[n]``, pointing
at ``GET /documents/{id}?start=&end=`` for the quoted span) and ``search_results`` (title, url, date,
plus the exact offsets). Streamed, they come in the last chunk, the one with ``finish_reason``.
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
    items = engine.ask_stream(question, filters, history)
    first = next(items)  # retrieval happens here: bad input is still a JSON 4xx
    # An LLM's streamed reply is verified only once complete, and this protocol cannot retract text:
    # with an LLM, send the verified answer when it is ready; extractive text is final as it streams.
    passthrough = engine.llm is None
    return StreamingResponse(
        _chunks(first, items, body, cid, created, base, passthrough, request.app.state.describe_error),
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
    first: str | Answer,
    rest: Iterator[str | Answer],
    body: ChatRequest,
    cid: str,
    created: int,
    base: str,
    passthrough: bool,
    describe_error: Callable[[BaseException], tuple[int, str, str]],
) -> Iterator[str]:
    yield _chunk(cid, created, {"role": "assistant", "content": ""}, None)
    sent = ""
    item: str | Answer | None = first
    try:
        while item is not None and not isinstance(item, Answer):
            if passthrough and item:
                sent += item
                yield _chunk(cid, created, {"content": item}, None)
            item = next(rest, None)
    except Exception as e:
        log.exception("chat stream failed")
        _, kind, message = describe_error(e)
        yield _data({"error": {"type": kind, "message": message}})
        return
    if item is None:
        yield _chunk(cid, created, {}, "stop")
        yield "data: [DONE]\n\n"
        return
    answer = item
    content = _content(answer)
    if content.startswith(sent) and content != sent:
        yield _chunk(cid, created, {"content": content[len(sent) :]}, None)
    urls, results = _sources(answer, base)
    yield _chunk(cid, created, {}, "stop", citations=urls, search_results=results, abstained=answer.abstained)
    if body.stream_options and body.stream_options.include_usage:
        yield _chunk(cid, created, None, None, usage=_usage(body, content))
    yield "data: [DONE]\n\n"
