"""The FastAPI application: factory, lifespan, error mapping and ``serve``.

This module is the only place where the project's exceptions (index/errors.py) become HTTP status
codes; every error body has the one shape ``{"error": {"type": ..., "message": ...}}``.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import WriteAuthMiddleware, write_policy
from api.limits import BodyLimitMiddleware
from api.metrics import Metrics, MetricsMiddleware
from api.origin import WriteOriginMiddleware
from api.routes import ask, chat, documents, health, jobs, search, widget
from index.cache import use_cache_dir
from index.errors import (
    ConfigError,
    ConflictError,
    IndexMismatchError,
    InputError,
    NotFoundError,
    RagError,
    StorageError,
    StorageFullError,
    UpstreamError,
)
from rag.engine import Engine
from rag.settings import Settings

log = logging.getLogger("api")

# (exception, HTTP status, error type), most specific first
ERRORS: tuple[tuple[type[BaseException], int, str], ...] = (
    (InputError, 400, "invalid_request"),
    (NotFoundError, 404, "not_found"),
    (IndexMismatchError, 409, "index_mismatch"),
    (ConflictError, 409, "conflict"),
    (UpstreamError, 502, "upstream_error"),
    (StorageFullError, 507, "insufficient_storage"),
    (StorageError, 503, "storage_unavailable"),
    (ConfigError, 500, "config_error"),
    (RagError, 500, "internal_error"),
)
HTTP_TYPES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "unavailable",
    507: "insufficient_storage",
}


def describe_error(exc: BaseException) -> tuple[int, str, str]:
    """(status, type, message) for any exception; unexpected ones do not leak their text."""
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, HTTP_TYPES.get(exc.status_code, "http_error"), str(exc.detail)
    for cls, status, kind in ERRORS:
        if isinstance(exc, cls):
            return status, kind, str(exc) or kind
    return 500, "internal_error", "internal server error"


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


async def _rag_error(request: Request, exc: Exception) -> JSONResponse:
    status, kind, message = describe_error(exc)
    if status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, message)
    return _error(status, kind, message)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status, kind, message = describe_error(exc)
    return _error(status, kind, message, getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return _error(400, "invalid_request", "the request body is not valid JSON")
    parts = []
    for e in errors[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {e.get('msg', 'invalid')}")
    return _error(422, "invalid_request", "; ".join(parts) or "the request does not match the schema")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s crashed", request.method, request.url.path, exc_info=exc)
    return _error(500, "internal_error", "internal server error")


def create_app(settings: Settings, engine: Engine | None = None, *, loopback: bool = True) -> FastAPI:
    """The app; with ``engine=None`` the lifespan opens one from ``settings`` (model and index, once).

    Writes need ``RAG_API_KEY`` or, when it is unset, the key this loads from or makes in
    ``DATA_DIR/api-key`` (api/auth.py); ``RAG_ANONYMOUS_WRITES=true`` opens them to anyone, which
    ``loopback=False`` (``serve`` on any other address) refuses with a ConfigError.
    """
    policy = write_policy(settings, loopback)
    if policy.key and not settings.api_key:
        # the key in effect is the generated one: an upload's provenance then says it was keyed
        settings = settings.model_copy(update={"api_key": policy.key})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = None
        if app.state.engine is None:
            # in a worker thread: loading may index the corpus, which must not stall the event loop
            opened = await anyio.to_thread.run_sync(Engine.open, settings)
            app.state.engine = opened
        try:
            yield
        finally:
            runner = getattr(app.state, "jobs", None)
            if runner is not None:
                runner.close()  # a running job is cancelled: the index stays as it was
            if opened is not None:
                opened.close()
                close = getattr(opened.llm, "close", None)
                if callable(close):
                    close()

    app = FastAPI(
        title="bilingual-rag",
        version="0.1.0",
        description="Cited answers over your documents, in Chinese and English.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.write_policy = policy
    app.state.jobs_lock = threading.Lock()  # the job runner is made once, on first use (api.deps)
    app.state.started = int(time.time())
    app.state.metrics = Metrics()
    app.state.describe_error = describe_error

    app.add_exception_handler(RagError, _rag_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)

    # add_middleware wraps: the last added is outermost (metrics, then CORS so even a 413 carries CORS
    # headers); a write from a foreign page is refused (403), then one without the key (401), both
    # before the body is read, before its size is counted
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(WriteAuthMiddleware, get_policy=lambda: app.state.write_policy)
    app.add_middleware(WriteOriginMiddleware, allowed_origins=list(settings.cors_origins))
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    app.add_middleware(
        MetricsMiddleware, get_metrics=lambda: app.state.metrics
    )  # outermost: sees every reply

    for r in (
        search.router,
        ask.router,
        chat.router,
        documents.router,
        jobs.router,
        health.router,
        widget.router,
    ):
        app.include_router(r)
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, **uvicorn_kwargs: Any) -> None:
    """Run the service with uvicorn (``rag serve``). Blocks until stopped."""
    import uvicorn

    use_cache_dir(settings.cache_dir)
    app = create_app(settings, loopback=is_loopback(host))
    uvicorn.run(app, host=host, port=port, **{"log_level": "info", **uvicorn_kwargs})
