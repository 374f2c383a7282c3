"""Shared test fixtures.

``FakeEmbedder`` is deterministic and fast: it hashes normalised character bigrams and words into a
small vector, so texts that share words land near each other. Fast tests use it; tests marked ``slow``
use the real bundled model.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import pytest


class FakeEmbedder:
    model_id = "fake/hashed-bigrams-v1"
    dim = 64
    max_tokens = 512

    def __init__(self) -> None:
        self.calls = 0  # number of texts encoded as documents: lets tests prove nothing was re-embedded

    def _vec(self, text: str) -> np.ndarray:
        t = unicodedata.normalize("NFKC", text).lower()
        feats = re.findall(r"[a-z0-9]+", t)
        han = [c for c in t if "\u4e00" <= c <= "\u9fff"]
        feats += [a + b for a, b in zip(han, han[1:], strict=False)]
        v = np.zeros(self.dim, dtype=np.float32)
        for f in feats:
            h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=4).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        n = float(np.linalg.norm(v))
        if n == 0:
            v[0] = 1.0
            n = 1.0
        return v / n

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def count_tokens(self, text: str) -> int:
        # roughly like a multilingual subword model: one token per Han character, ~1.3 per word
        han = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
        words = len(re.findall(r"[A-Za-z0-9]+", text))
        return 2 + han + int(words * 1.3) + 1


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One lexicon/embedding cache directory per test session (Settings(cache=...)): building the
    CC-CEDICT lexicon takes seconds, loading it from this cache well under one."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _library_caches_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """``rag`` and ``serve`` point jieba's and tiktoken's caches at the data directory for the whole
    process (``index.cache.use_cache_dir``); each test gets them back as they were, so no test leaves
    them in another test's temporary directory."""
    import jieba

    monkeypatch.setattr(jieba.dt, "tmp_dir", jieba.dt.tmp_dir)
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        value = os.environ.get(var)
        monkeypatch.setenv(var, value or "")  # recorded, so restored after the test
        if value is None:
            monkeypatch.delenv(var)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow/browser/st/milvus")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Slow tests are off by default (sentence-transformers style) and on in CI via --run-slow.
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="heavy test: run with --run-slow")
    for item in items:
        if any(m in item.keywords for m in ("slow", "browser", "st", "milvus")):
            item.add_marker(skip)
