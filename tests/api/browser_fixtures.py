"""Fixtures for the widget's browser tests: Debian's Chromium driven by Playwright, and a real ``rag serve``.

Kept out of conftest.py so the API tests' fixtures and these do not collide: test modules import the
helpers and declare their own fixtures. Playwright cannot download browsers here, so the system Chromium (``apt-get install chromium``)
is launched by path.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("RAG_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """The system Chromium under Playwright; the test module wraps this in a session fixture."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium fonts-noto-cjk")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def require_cjk_font() -> None:
    """Screenshots are committed: without a CJK font Chinese would render as empty boxes."""
    fc_list = shutil.which("fc-list")
    out = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True).stdout if fc_list else ""
    if not out.strip():
        pytest.fail("no Chinese font installed: apt-get install -y fonts-noto-cjk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """A ``rag serve`` subprocess on loopback; ``stop()`` lets a test see the widget lose the service."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    corpus: Path
    _stopped: bool = field(default=False)

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def rag_command() -> list[str]:
    exe = Path(sys.executable).parent / "rag"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("rag")
    return [found] if found else [sys.executable, "-m", "rag.cli"]


def start_rag_serve(corpus: Path, data_dir: Path, log: Path, ready_timeout_s: float = 900.0) -> LiveServer:
    """Start ``rag serve`` on a free loopback port and wait until /readyz says the index is loaded.

    The first start indexes ``corpus`` with the real model, which takes a minute or two on a small machine.
    The LLM is switched off so answers come from the deterministic extractive path.
    """
    port = free_port()
    env = dict(os.environ)
    for var in ("RAG_API_KEY", "RAG_LLM_URL", "RAG_LLM_MODEL", "RAG_INDEX_NAME", "RAG_EMBEDDER"):
        env.pop(var, None)
    env.update(RAG_DATA_DIR=str(data_dir), RAG_CORPUS=str(corpus), PYTHONUNBUFFERED="1")
    cmd = [*rag_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = LiveServer(proc=proc, url=f"http://127.0.0.1:{port}", log=log, corpus=corpus)
    deadline = time.monotonic() + ready_timeout_s
    while True:
        if proc.poll() is not None:
            pytest.fail(f"rag serve exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(server.url + "/readyz", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"rag serve not ready after {ready_timeout_s:.0f}s:\n{server.log_tail()}")
        time.sleep(1.0)
