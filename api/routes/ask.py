"""``POST /ask``: a cited answer, as one JSON object or as Server-Sent Events."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.deps import EngineDep, SettingsDep, check_question
from api.schemas import ERROR_RESPONSES, AnswerOut, AskRequest, to_filters
from rag.types import Answer

log = logging.getLogger(__name__)
router = APIRouter(tags=["ask"])

# One event as OpenAPI 3.2 describes Server-Sent Events (the schema applies to each event)
SSE_EVENT_SCHEMA = {
    "type": "object",
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}, "id": {"type": "string"}},
}
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_SSE_DOC = {
    "content": {
        "text/event-stream": {
            "schema": SSE_EVENT_SCHEMA,
            "example": 'event: delta\ndata: {"text": "Meta"}\n\nevent: done\ndata: {"answer": "...", "citations": []}\n\n',
        }
    },
    "description": "With stream=false an Answer object; with stream=true `delta` events, then `done` (or `error`).",
}


def sse_event(event: str, data: Any) -> str:
    # json.dumps escapes newlines, so each payload is one `data:` line
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def answer_events(
    items: Iterator[str | Answer],
    include_hits: bool,
    describe_error: Callable[[BaseException], tuple[int, str, str]],
) -> Iterator[str]:
    """``delta`` events for text, ``done`` for the final Answer; a failure midway becomes ``error``.

    The deltas are final text (``Engine.ask_stream`` sends only what the answer keeps), so a client
    may show them as they come; ``done`` then carries the answer, its citations and timings.
    """
    try:
        for item in items:
            if isinstance(item, Answer):
                yield sse_event("done", item.to_dict(include_hits=include_hits))
                return
            if item:
                yield sse_event("delta", {"text": item})
    except Exception as e:  # the response has started: report in-band, the status is already 200
        log.exception("answer stream failed")
        _, kind, message = describe_error(e)
        yield sse_event("error", {"error": {"type": kind, "message": message}})


@router.post(
    "/ask",
    response_model=AnswerOut,
    response_model_exclude_unset=True,
    responses={**ERROR_RESPONSES, 200: _SSE_DOC},
)
def ask(body: AskRequest, request: Request, engine: EngineDep, settings: SettingsDep) -> Any:
    check_question(body.question, settings)
    for i, h in enumerate(body.history):
        check_question(h, settings, f"history[{i}]")
    filters = to_filters(body.filters)
    if not body.stream:
        return engine.ask(body.question, filters, body.history).to_dict(include_hits=body.include_hits)
    # retrieval runs in this call, before the response starts: bad input still gets a JSON 4xx
    items = engine.ask_stream(body.question, filters, body.history)
    return StreamingResponse(
        answer_events(items, body.include_hits, request.app.state.describe_error),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )
