"""Writes from web pages the operator has not allowed are refused, before the body is read.

A multipart ``POST /documents`` is a "simple" request: a browser sends it cross-origin without a
preflight, so without this check any page the user visits could plant or delete documents in the
service on their machine (CORS only hides the *response* from that page). A browser marks every such
request with ``Origin`` (and ``Sec-Fetch-Site``); scripts and ``curl`` send neither and are governed
by ``RAG_API_KEY`` alone.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WRITE_PATHS = ("/documents", "/jobs")


class WriteOriginMiddleware:
    """403 for a write whose ``Origin`` is neither the service's own nor in ``RAG_CORS_ORIGINS``."""

    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed = {o.rstrip("/").lower() for o in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_write(scope):
            reason = self._refusal(scope)
            if reason:
                body = {"error": {"type": "forbidden", "message": reason}}
                await JSONResponse(body, status_code=403, headers={"Connection": "close"})(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> str | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        origin = headers.get("origin", "").rstrip("/").lower()
        site = headers.get("sec-fetch-site", "").lower()
        if not origin and site in ("", "same-origin", "none"):
            return None  # not from a web page, or typed into the address bar
        if origin and origin != "null" and (origin == _own_origin(scope, headers) or origin in self.allowed):
            return None
        return (
            f"writes from the web page at {origin or 'another site'} are refused; allow its origin with "
            "RAG_CORS_ORIGINS if it should upload or delete documents"
        )


def is_write(scope: Scope) -> bool:
    """Whether an ASGI request changes the index (an upload, a delete, a cancelled job)."""
    if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
        return False
    path = scope["path"]
    return any(path == p or path.startswith(p + "/") for p in WRITE_PATHS)


def _own_origin(scope: Scope, headers: dict[str, str]) -> str:
    """The origin the service was reached at (the widget's own demo page writes from there)."""
    host = headers.get("host", "")
    return f"{scope.get('scheme', 'http')}://{host}".lower() if host else ""
