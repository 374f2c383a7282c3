"""Who may write (upload, delete, cancel), decided before a write's body is read.

Writes change what every reader is told, so they are never anonymous by accident. With
``RAG_API_KEY`` set, writes need that key. Without it the service makes a key at start-up, keeps it in
``DATA_DIR/api-key`` (mode 0600: as private as the index it guards) and says in one log line where it
is, so the operator who started the service can write and nobody else can. Writing without a key is
a deliberate choice (``RAG_ANONYMOUS_WRITES=true``), and refused unless the service listens on
loopback only.

The key is checked by ASGI middleware, not only by a FastAPI dependency: FastAPI parses a multipart
form, spooling up to ``RAG_MAX_BODY_BYTES`` to disk, before any dependency runs, so each 401 would
otherwise cost the service an 8 MB read and a temporary file. ``require_api_key`` (api/deps.py)
applies the same policy again to the routes that write.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import shlex
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.origin import is_write
from index.errors import ConfigError, StorageError
from index.storage import write_atomic, writing
from rag.settings import Settings

log = logging.getLogger("api")

KEY_FILE = "api-key"


@dataclass(frozen=True)
class WritePolicy:
    """What a write needs: the key, nothing (anonymous), or it is refused outright (``disabled``)."""

    key: str = ""
    key_file: Path | None = None  # where the generated key is kept; None: the key is RAG_API_KEY
    anonymous: bool = False
    disabled: str = ""  # why writes are refused, for the 403

    def refusal(self, authorization: str) -> tuple[int, str] | None:
        """(status, message) refusing a write with this ``Authorization`` header, or None."""
        if self.anonymous:
            return None
        if self.disabled or not self.key:
            return 403, self.disabled or "writes are disabled"
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode("utf-8"), self.key.encode("utf-8")
        ):
            return None
        if self.key_file is None:
            return 401, "this operation needs the header 'Authorization: Bearer <RAG_API_KEY>'"
        # the path stays in the operator's log: an unauthenticated client learns only the file's name
        return 401, (
            "this operation needs the header 'Authorization: Bearer <key>'; RAG_API_KEY is not set, so "
            f"the key is the one the service keeps in the file {KEY_FILE} of its data directory"
        )


def write_policy(settings: Settings, loopback: bool) -> WritePolicy:
    """The policy ``create_app`` applies; without ``RAG_API_KEY`` this loads or makes the key file."""
    if settings.api_key:
        return WritePolicy(key=settings.api_key)
    if settings.anonymous_writes:
        if not loopback:
            raise ConfigError(
                "RAG_ANONYMOUS_WRITES=true is refused on a non-loopback address: anyone on the network "
                "could change the index. Set RAG_API_KEY, or unset RAG_ANONYMOUS_WRITES to use the key "
                f"the service keeps in {settings.data_dir / KEY_FILE}"
            )
        log.warning("RAG_ANONYMOUS_WRITES=true: uploads and deletes need no key on this loopback address")
        return WritePolicy(anonymous=True)
    path = settings.data_dir / KEY_FILE
    try:
        key, made = load_or_create_key(path)
    except StorageError as e:
        log.warning("uploads and deletes are disabled: RAG_API_KEY is not set and %s", e)
        return WritePolicy(
            disabled="writes are disabled: RAG_API_KEY is not set and the service cannot keep a key "
            "in its data directory (read-only?)"
        )
    log.warning(
        'uploads and deletes need the API key %s %s: send the header "Authorization: Bearer $(cat %s)"',
        "just made in" if made else "kept in",
        path,
        shlex.quote(str(path)),
    )
    return WritePolicy(key=key, key_file=path)


def load_or_create_key(path: Path) -> tuple[str, bool]:
    """The key in ``path``, or a new random one written there (mode 0600); (key, whether made now)."""
    with writing(path):
        key = _read_key(path)
        if key:
            return key, False
        path.parent.mkdir(parents=True, exist_ok=True)
        new = secrets.token_urlsafe(32)
        try:
            # exclusive: two services starting on one data directory must not each keep another key
            write_atomic(path, new + "\n", mode=0o600, exclusive=True)
        except FileExistsError:
            key = _read_key(path)
            if key:
                return key, False  # the other one made it first
            write_atomic(path, new + "\n", mode=0o600)  # an empty file: replaced
        return new, True


def _read_key(path: Path) -> str:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
    if key and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s can be read by other users: `chmod 600 %s`", path, shlex.quote(str(path)))
    return key


class WriteAuthMiddleware:
    """401/403 for a write the policy refuses, sent before a byte of the body is received."""

    def __init__(self, app: ASGIApp, get_policy: Callable[[], WritePolicy]) -> None:
        self.app = app
        self.get_policy = get_policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_write(scope):
            authorization = next(
                (v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"authorization"), ""
            )
            refusal = self.get_policy().refusal(authorization)
            if refusal is not None:
                status, message = refusal
                kind = "unauthorized" if status == 401 else "forbidden"
                # Connection: close, so the server need not read the unread body to reuse the connection
                headers = {"Connection": "close"} | ({"WWW-Authenticate": "Bearer"} if status == 401 else {})
                body = {"error": {"type": kind, "message": message}}
                await JSONResponse(body, status_code=status, headers=headers)(scope, receive, send)
                return
        await self.app(scope, receive, send)
