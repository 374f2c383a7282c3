"""Request and response models of the HTTP API: the OpenAPI schema is generated from these.

Static limits (k, list sizes, date formats) live in the models. The question-length limit is a
setting (``RAG_MAX_QUESTION_CHARS``), so the models carry only a hard ceiling and the routes apply
the configured limit through ``deps.check_question``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rag.types import Filters

QUESTION_CEILING = 100_000  # no setting may allow more than this; the configured limit is usually far lower
HISTORY_TURNS = 20  # earlier questions a request may send; only the latest few matter to a follow-up


class ErrorBody(BaseModel):
    type: str = Field(description="machine-readable kind, e.g. invalid_request, not_found, unauthorized")
    message: str = Field(description="what went wrong and what to do about it")


class ErrorResponse(BaseModel):
    """Every 4xx/5xx response body."""

    error: ErrorBody


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": desc}
    for code, desc in {
        400: "Bad input (empty or too long question, bad file, bad range)",
        404: "Unknown document",
        413: "Request body or upload too large",
        422: "The request does not match the schema",
        503: "The index is not loaded",
    }.items()
}
WRITE_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    401: {"model": ErrorResponse, "description": "Missing or wrong API key"},
    403: {"model": ErrorResponse, "description": "A write from a foreign web page, or writes are disabled"},
    503: {
        "model": ErrorResponse,
        "description": "The index is not loaded, or the data directory is read-only",
    },
    507: {"model": ErrorResponse, "description": "The disk is full: nothing was written"},
}


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(default_factory=list, max_length=100, description="keep only these sources")
    docs: list[str] = Field(default_factory=list, max_length=1000, description="keep only these document ids")
    date_from: dt.date | None = Field(default=None, description="first day, inclusive (YYYY-MM-DD)")
    date_to: dt.date | None = Field(default=None, description="last day, inclusive (YYYY-MM-DD)")

    @model_validator(mode="after")
    def _range(self) -> FiltersIn:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        return self

    def to_filters(self) -> Filters | None:
        f = Filters(
            sources=tuple(self.sources),
            docs=tuple(self.docs),
            date_from=self.date_from.isoformat() if self.date_from else None,
            date_to=self.date_to.isoformat() if self.date_to else None,
        )
        return None if f.empty else f


def to_filters(f: FiltersIn | None) -> Filters | None:
    return f.to_filters() if f else None


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=QUESTION_CEILING)
    k: int = Field(default=10, ge=1, le=100)
    filters: FiltersIn | None = None
    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"


class HitOut(BaseModel):
    rank: int
    score: float
    scores: dict[str, float]
    chunk_id: str
    doc: str
    article: int
    title: str
    source: str | None
    date: str | None
    section: str
    start: int
    end: int
    text: str


class SearchResponse(BaseModel):
    query: str
    hits: list[HitOut]
    timings_ms: dict[str, float]


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=QUESTION_CEILING)
    filters: FiltersIn | None = None
    stream: bool = Field(default=False, description="answer as Server-Sent Events: delta events, then done")
    include_hits: bool = Field(default=False, description="also return the retrieved passages")
    history: list[Annotated[str, Field(max_length=QUESTION_CEILING)]] = Field(
        default_factory=list,
        max_length=HISTORY_TURNS,
        description="the user's earlier questions in this conversation, oldest first: a follow-up "
        "('And Microsoft's?') is read against them, and the answer's read_as says how",
    )


class CitationOut(BaseModel):
    n: int
    chunk_id: str
    doc: str
    title: str
    source: str | None
    date: str | None
    start: int
    end: int
    quote: str
    quote_start: int
    quote_end: int
    page: int | None = Field(default=None, description="the PDF page the quote starts on (1-based)")
    provenance: str | None = Field(
        default=None, description="'uploaded file x': the outlet the document names is the upload's own claim"
    )


class AnswerOut(BaseModel):
    question: str
    answer: str = Field(description="answer text with [n] markers that refer to citations")
    abstained: bool
    confidence: float | None = Field(
        default=None, description="probability, by the abstention model, that the quoted evidence answers"
    )
    lead: str | None = Field(
        default=None,
        description="the asked figure in the question's language with its [n]; the answer's first line",
    )
    read_as: str | None = Field(
        default=None, description="a follow-up question as it was read against the conversation's history"
    )
    citations: list[CitationOut]
    timings_ms: dict[str, float]
    mode: Literal["extractive", "llm"]
    hits: list[HitOut] | None = None


class DocumentOut(BaseModel):
    id: str
    chars: int
    sha256: str
    articles: int
    chunks: int
    titles: list[str]
    origin: dict[str, str] | None = Field(
        default=None,
        description="how the document arrived: via corpus, path (rag index) or upload, with when and by whom",
    )


class JobOut(BaseModel):
    """An upload being indexed in the background (``Location: /jobs/{id}`` of a 202 answer)."""

    id: str
    doc: str = Field(description="the document id the upload will have")
    state: str = Field(description="queued, parsing, embedding, done, failed or cancelled")
    bytes: int
    created: float = Field(description="Unix time")
    started: float | None = None
    finished: float | None = None
    done: int = Field(description="chunks embedded so far")
    total: int = Field(description="chunks to embed (0 until the document is parsed)")
    seconds: float = Field(description="time since the job started (or was queued), or its duration")
    error: str | None = Field(default=None, description="why it failed")
    document: DocumentOut | None = Field(default=None, description="the indexed document, once done")


class JobList(BaseModel):
    jobs: list[JobOut]


class DocumentList(BaseModel):
    documents: list[DocumentOut]


class DocumentText(BaseModel):
    id: str
    chars: int
    titles: list[str]
    text: str = Field(description="the whole text, or the requested span of it")
    start: int
    end: int


# --------------------------------------------------------------------------- OpenAI chat-completions


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str = Field(max_length=64)
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if not self.content:
            return ""
        return "\n".join(p.text or "" for p in self.content if p.type in ("text", "input_text"))


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """The OpenAI request; sampling parameters are accepted and ignored (answers are grounded)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(default="", max_length=256)
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)
    stream: bool = False
    stream_options: StreamOptions | None = None
    filters: FiltersIn | None = Field(default=None, description="extension: restrict retrieval")


class ChatChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int
    message: ChatChoiceMessage
    finish_reason: str


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class SearchResultOut(BaseModel):
    """One cited passage, as Perplexity's ``search_results`` (title, url, date) plus exact offsets."""

    n: int
    title: str
    url: str
    date: str | None
    source: str | None
    doc: str
    chunk_id: str
    quote: str
    start: int
    end: int
    quote_start: int
    quote_end: int
    page: int | None = None
    provenance: str | None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    citations: list[str] = Field(description="URL of each cited passage, in [n] order (as Perplexity)")
    search_results: list[SearchResultOut]
    abstained: bool


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


# ------------------------------------------------------------------------------------------ health


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    index: dict[str, Any]
