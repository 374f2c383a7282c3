"""Clients for an optional local LLM that speaks the OpenAI chat-completions protocol.

Any OpenAI-compatible server works (Ollama, llama.cpp server, vLLM): the service only needs
``POST {base}/chat/completions``. Every failure (connection refused, HTTP error, timeout, a reply that
is not the protocol) becomes ``UpstreamError`` so the answering stage can fall back to the extractive
answer with one ``except``.

The protocol has two methods rather than one ``chat(..., stream=bool) -> str | Iterator[str]``: each has
one precise return type, so callers need no ``isinstance`` checks and mypy can check both paths.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

import httpx

from index.errors import ConfigError, UpstreamError
from rag.settings import Settings

Message = dict[str, str]


@runtime_checkable
class LLMClient(Protocol):
    """A chat model: the whole reply at once, or the reply as text deltas while it is produced."""

    model: str

    def chat(self, messages: list[Message]) -> str: ...

    def chat_stream(self, messages: list[Message]) -> Iterator[str]: ...


class OpenAICompatibleClient:
    """``/chat/completions`` over httpx, with the per-operation timeout from settings."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "",
        timeout_s: float = 30.0,
        temperature: float = 0.0,
        max_tokens: int = 512,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"RAG_LLM_URL must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self.temperature = temperature
        self.max_tokens = max_tokens
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # One connection pool for the client's lifetime: the engine builds the client once at startup.
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s), headers=headers)

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _payload(self, messages: list[Message], stream: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "messages": messages,
            "stream": stream,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if self.model:
            payload["model"] = self.model
        return payload

    def chat(self, messages: list[Message]) -> str:
        try:
            r = self._http.post(self.url, json=self._payload(messages, stream=False))
            r.raise_for_status()
            data = r.json()
            content = data["choices"][0]["message"]["content"]
        except httpx.TimeoutException as e:
            raise UpstreamError(f"the LLM at {self.base_url} timed out after {self.timeout_s:g}s") from e
        except httpx.HTTPError as e:
            raise UpstreamError(f"the LLM at {self.base_url} failed: {e}") from e
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise UpstreamError(
                f"the LLM at {self.base_url} sent a reply that is not chat-completions"
            ) from e
        if not isinstance(content, str):
            raise UpstreamError(f"the LLM at {self.base_url} sent no text content")
        return content

    def chat_stream(self, messages: list[Message]) -> Iterator[str]:
        finished = False
        try:
            with self._http.stream("POST", self.url, json=self._payload(messages, stream=True)) as r:
                if r.status_code >= 400:
                    r.read()
                    raise UpstreamError(f"the LLM at {self.base_url} failed: HTTP {r.status_code}")
                for line in r.iter_lines():
                    event = _sse_event(line)
                    if event is None:
                        continue
                    content, done = event
                    finished = finished or done
                    if content:
                        yield content
                    if line.strip() == "data: [DONE]":
                        break
        except httpx.TimeoutException as e:
            raise UpstreamError(f"the LLM at {self.base_url} timed out after {self.timeout_s:g}s") from e
        except httpx.HTTPError as e:
            raise UpstreamError(f"the LLM at {self.base_url} failed: {e}") from e
        if not finished:
            # a dropped connection looks like a normal end of body: only [DONE] / finish_reason prove it isn't
            raise UpstreamError(f"the LLM at {self.base_url} stopped before finishing its reply")

    def close(self) -> None:
        self._http.close()


def _sse_event(line: str) -> tuple[str, bool] | None:
    """(text delta, whether the reply is finished) of one ``data:`` line; None for other lines."""
    line = line.strip()
    if not line.startswith("data:"):
        return None  # blank separators, comments (": ping"), "event:" lines
    data = line[5:].strip()
    if data == "[DONE]":
        return "", True
    try:
        chunk = json.loads(data)
        if "error" in chunk:
            raise UpstreamError(f"the LLM reported an error: {chunk['error']}")
        choices = chunk.get("choices") or []
        if not choices:
            return "", False
        content = (choices[0].get("delta") or {}).get("content")
        finished = choices[0].get("finish_reason") is not None
    except (ValueError, AttributeError, TypeError) as e:
        raise UpstreamError("the LLM sent a stream that is not chat-completions") from e
    return (content if isinstance(content, str) else ""), finished


LLMFactory = Callable[[Settings], LLMClient]


def _openai_compatible(settings: Settings) -> LLMClient:
    return OpenAICompatibleClient(
        settings.llm_url,
        settings.llm_model,
        api_key=settings.llm_api_key,
        timeout_s=settings.llm_timeout_s,
    )


LLM_CLIENTS: dict[str, LLMFactory] = {
    "openai": _openai_compatible,
}


def make_llm_client(settings: Settings, kind: str = "openai") -> LLMClient | None:
    """The configured LLM client, or None when ``RAG_LLM_URL`` is unset (answers stay extractive)."""
    if not settings.llm_url:
        return None
    try:
        factory = LLM_CLIENTS[kind]
    except KeyError:
        raise ConfigError(
            f"unknown LLM client {kind!r}; choose one of: {', '.join(sorted(LLM_CLIENTS))}"
        ) from None
    return factory(settings)
