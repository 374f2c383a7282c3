"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from api.schemas import ErrorResponse, Health, Ready

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> dict:
    """The process is up and serving HTTP (says nothing about the index)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Ready, responses={503: {"model": ErrorResponse}})
def readyz(request: Request) -> dict | JSONResponse:
    """The model and the index are loaded and the index can be read."""
    engine = getattr(request.app.state, "engine", None)
    if engine is None or not engine.ready:
        return JSONResponse(
            {"error": {"type": "not_ready", "message": "the model and index are still loading"}},
            status_code=503,
        )
    return {"status": "ready", "index": engine.stats()}


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request) -> Response:
    engine = getattr(request.app.state, "engine", None)
    stats = engine.stats() if engine is not None and engine.ready else None
    return Response(request.app.state.metrics.render(stats), media_type=CONTENT_TYPE_LATEST)
