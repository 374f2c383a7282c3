"""The OpenAI-compatible client against a real stand-in server on loopback."""

from __future__ import annotations

import time

import pytest

from index.errors import ConfigError, UpstreamError
from rag.llm import LLM_CLIENTS, LLMClient, OpenAICompatibleClient, make_llm_client
from rag.settings import Settings
from tests.api.llm_stub import Behaviour, llm_stub

MESSAGES = [{"role": "user", "content": "hello"}]


def test_no_url_means_no_client(tmp_path):
    assert make_llm_client(Settings(data_dir=tmp_path, llm_url="")) is None


def test_url_builds_the_registered_client(tmp_path):
    assert "openai" in LLM_CLIENTS
    client = make_llm_client(
        Settings(data_dir=tmp_path, llm_url="http://127.0.0.1:9/v1/", llm_model="m", llm_timeout_s=3)
    )
    assert isinstance(client, OpenAICompatibleClient)
    assert isinstance(client, LLMClient)
    assert client.url == "http://127.0.0.1:9/v1/chat/completions"
    assert client.timeout_s == 3


def test_unknown_client_kind_and_bad_url_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown LLM client"):
        make_llm_client(Settings(data_dir=tmp_path, llm_url="http://127.0.0.1:9/v1"), kind="nope")
    with pytest.raises(ConfigError, match="http"):
        make_llm_client(Settings(data_dir=tmp_path, llm_url="127.0.0.1:9"))


def test_chat_returns_the_reply_and_sends_model_and_key():
    with llm_stub() as (url, stub):
        stub.reply("Meta guided capex of $115-135 billion [1].")
        client = OpenAICompatibleClient(url, "qwen-test", api_key="sekrit", timeout_s=5)
        assert client.chat(MESSAGES) == "Meta guided capex of $115-135 billion [1]."
        req = stub.requests[-1]
        assert req["_path"] == "/v1/chat/completions"
        assert req["model"] == "qwen-test"
        assert req["messages"] == MESSAGES
        assert req["stream"] is False
        assert req["_auth"] == "Bearer sekrit"


def test_chat_stream_yields_deltas_in_order():
    with llm_stub() as (url, stub):
        text = "First sentence [1]. Second sentence [2]."
        stub.reply(text, stream_pieces=5)
        deltas = list(OpenAICompatibleClient(url, "m", timeout_s=5).chat_stream(MESSAGES))
        assert len(deltas) == 5
        assert "".join(deltas) == text
        assert stub.requests[-1]["stream"] is True


@pytest.mark.parametrize("stream", [False, True])
def test_http_error_is_upstream_error(stream):
    with llm_stub() as (url, stub):
        stub.fail(500)
        client = OpenAICompatibleClient(url, "m", timeout_s=5)
        with pytest.raises(UpstreamError, match="500"):
            list(client.chat_stream(MESSAGES)) if stream else client.chat(MESSAGES)


@pytest.mark.parametrize("stream", [False, True])
def test_timeout_is_upstream_error(stream):
    with llm_stub() as (url, stub):
        stub.stall(3.0)
        client = OpenAICompatibleClient(url, "m", timeout_s=0.5)
        t0 = time.perf_counter()
        with pytest.raises(UpstreamError, match="timed out"):
            list(client.chat_stream(MESSAGES)) if stream else client.chat(MESSAGES)
        assert time.perf_counter() - t0 < 2.5


def test_unreachable_server_is_upstream_error():
    with llm_stub() as (url, _):
        pass  # the port is closed again
    with pytest.raises(UpstreamError):
        OpenAICompatibleClient(url, "m", timeout_s=2).chat(MESSAGES)


def test_reply_that_is_not_the_protocol_is_upstream_error():
    with llm_stub() as (url, stub):
        stub.script = lambda req: Behaviour(garbage=True)
        with pytest.raises(UpstreamError, match="not chat-completions"):
            OpenAICompatibleClient(url, "m", timeout_s=5).chat(MESSAGES)


def test_stream_cut_before_done_is_upstream_error():
    with llm_stub() as (url, stub):
        stub.script = lambda req: Behaviour(text="a b c d e f g h", stream_pieces=4, fail_after_pieces=2)
        got: list[str] = []
        with pytest.raises(UpstreamError, match="before finishing"):
            for d in OpenAICompatibleClient(url, "m", timeout_s=5).chat_stream(MESSAGES):
                got.append(d)
        assert len(got) == 2
