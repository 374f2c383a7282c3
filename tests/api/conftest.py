"""Fixtures for the HTTP service: a small corpus, engines over it (FakeEmbedder), apps and live servers.

Building the bilingual lexicon takes ~20 s, so it is built once per session and linked into each
test's data directory; opening an engine over the tiny corpus then takes well under a second.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from index.lexicon import Lexicon
from rag.engine import Engine
from rag.settings import Settings
from tests.conftest import FakeEmbedder

CAPEX = (
    "行业驱动因素 - 微软2026财年第二财季资本支出达到375亿美元,同比增长66%创纪录 [1] "
    "- Meta预计2026年资本支出将在1150亿美元至1350亿美元之间,最高位几乎是其2025年资本支出的两倍 [1]"
)
DIGEST = (
    "Workflow\nMeta Platforms(META)\nicon\n搜索文档\n"
    "北美CSP资本开支指引乐观\n智通财经网· 2026-02-03 14:56\n" + CAPEX + "\n"
    "OpenAI CFO:让广告像功能\n36氪· 2026-01-26 12:16\n"
    "公司核心增长数据 - 2023年至2025年,公司算力从0.2吉瓦增长至1.9吉瓦,年收入从20亿美元增长至突破200亿美元 [1]\n"
)
SOLAR = (
    "# Solar panels\n\nSolar panel prices fell 20% in 2025 according to the industry report.\n\n"
    "## Batteries\n\nBattery storage capacity doubled to 40 GWh in the same year.\n"
)
CORPUS = {"digest.txt": DIGEST, "solar.md": SOLAR}


@pytest.fixture(scope="session")
def lexicon_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("lexicon-cache")
    Lexicon.load(cache)
    return cache


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("corpus")
    for name, text in CORPUS.items():
        (d / name).write_text(text, encoding="utf-8")
    return d


def make_settings(data_dir: Path, corpus: Path, lexicon_cache: Path, **kw: object) -> Settings:
    """Settings over a private data directory whose cache links the session's lexicon.

    The tests upload and delete without a key, so they opt out of it as an operator on loopback
    would (``RAG_ANONYMOUS_WRITES=true``); tests of the key pass ``api_key=...`` or
    ``anonymous_writes=False``.
    """
    kw.setdefault("anonymous_writes", True)
    cache = data_dir / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for f in lexicon_cache.iterdir():
        target = cache / f.name
        if not target.exists():
            target.symlink_to(f)
    return Settings(data_dir=data_dir, corpus=corpus, **kw)  # type: ignore[arg-type]


EngineFactory = Callable[..., Engine]


@pytest.fixture
def make_engine(tmp_path: Path, corpus_dir: Path, lexicon_cache: Path) -> EngineFactory:
    """A fresh engine over a private copy of the index (``**settings`` override Settings fields)."""

    def make(embedder: FakeEmbedder | None = None, **kw: object) -> Engine:
        data = tmp_path / f"data{len(list(tmp_path.glob('data*')))}"
        return Engine.open(
            make_settings(data, corpus_dir, lexicon_cache, **kw), embedder=embedder or FakeEmbedder()
        )

    return make


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, lexicon_cache: Path) -> Engine:
    """One engine for read-only tests of a module (tests that write use ``make_engine``)."""
    data = tmp_path_factory.mktemp("shared-data")
    return Engine.open(make_settings(data, corpus_dir, lexicon_cache), embedder=FakeEmbedder())


@pytest.fixture(scope="module")
def client(shared_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(shared_engine.settings, shared_engine)) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def copy_corpus(src: Path, dst: Path, names: list[str]) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copyfile(src / n, dst / n)
    return dst


@pytest.fixture
def writable(make_engine: EngineFactory) -> Iterator[tuple[TestClient, Engine]]:
    """A client over a private engine that tests may write to (uploads, deletes), with that engine."""
    engine = make_engine()
    with TestClient(create_app(engine.settings, engine)) as c:
        yield c, engine
