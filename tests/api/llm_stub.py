"""A stand-in LLM server: a real HTTP server on loopback speaking the OpenAI chat-completions protocol.

Tests script what it does next (a reply, an HTTP error, a stall longer than the client's timeout,
a body that is not the protocol, a streamed reply that pauses until the test lets it go on) and read
back the requests it received.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    """What the stub does with a request: reply ``text``, or fail with ``status``, or stall ``delay_s``."""

    text: str = ""
    status: int = 200
    delay_s: float = 0.0
    garbage: bool = False
    stream_pieces: int = 4  # how many deltas a streamed reply is split into
    fail_after_pieces: int | None = None  # streamed: drop the connection after this many deltas
    pieces: list[str] | None = None  # streamed: exactly these deltas (``text`` unused)
    hold_after_pieces: int | None = None  # streamed: after this many deltas, wait for StubState.release


@dataclass
class StubState:
    script: Callable[[dict[str, Any]], Behaviour] = lambda req: Behaviour(text="stub reply [1].")
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # lets a held stream go on
    last_piece_sent: threading.Event = field(default_factory=threading.Event)  # a stream's last delta is out

    def reply(self, text: str, **kw: Any) -> None:
        self.script = lambda req: Behaviour(text=text, **kw)

    def fail(self, status: int = 500) -> None:
        self.script = lambda req: Behaviour(status=status)

    def stall(self, delay_s: float, text: str = "late [1].") -> None:
        self.script = lambda req: Behaviour(text=text, delay_s=delay_s)


def passage_number(request: dict[str, Any], needle: str) -> int | None:
    """The [n] of the first prompt passage containing ``needle`` (how a good model would cite)."""
    prompt = request["messages"][-1]["content"]
    for m in re.finditer(r"^\[(\d+)\] ", prompt, re.M):
        end = prompt.find("\n\n[", m.end())
        if needle in prompt[m.end() : end if end >= 0 else len(prompt)]:
            return int(m.group(1))
    return None


def citing(needle: str, template: str) -> Callable[[dict[str, Any]], Behaviour]:
    """A script that replies ``template`` with ``{n}`` = the passage holding ``needle``."""
    return lambda req: Behaviour(text=template.format(n=passage_number(req, needle) or 99))


def _pieces(text: str, n: int) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // n))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _handler(state: StubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            length = int(self.headers.get("Content-Length") or 0)
            req = json.loads(self.rfile.read(length) or b"{}")
            req["_path"] = self.path
            req["_auth"] = self.headers.get("Authorization")
            state.requests.append(req)
            b = state.script(req)
            if b.delay_s:
                time.sleep(b.delay_s)
            if b.status != 200:
                self._send(b.status, json.dumps({"error": {"message": "stub failure"}}).encode())
                return
            if b.garbage:
                self._send(200, b"<html>not json</html>", "text/html")
                return
            if not req.get("stream"):
                body = {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": req.get("model", "stub"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": b.text},
                            "finish_reason": "stop",
                        }
                    ],
                }
                self._send(200, json.dumps(body).encode())
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            pieces = b.pieces if b.pieces is not None else _pieces(b.text, b.stream_pieces)
            for i, piece in enumerate(pieces):
                if b.fail_after_pieces is not None and i >= b.fail_after_pieces:
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if i == b.hold_after_pieces:
                    state.release.wait(timeout=20)
                chunk = {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                if i == len(pieces) - 1:
                    state.last_piece_sent.set()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out closes the socket under a stalled reply: expected here


@contextmanager
def llm_stub() -> Iterator[tuple[str, StubState]]:
    """Run the stub on a free loopback port; yields (base URL ending in /v1, state)."""
    state = StubState()
    server = _QuietServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    finally:
        server.shutdown()
        server.server_close()
