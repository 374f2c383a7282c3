"""Prometheus metrics: request counts and latency per route, and the index size.

Each app owns a ``CollectorRegistry`` (never the process-wide default one), so tests can build many
apps in one process and each ``/metrics`` shows only its own app. Routes are labelled by their path
template (``/documents/{doc_id:path}``), never by the concrete URL, to keep label cardinality bounded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "rag_http_requests",
            "HTTP requests by route template, method and status code",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rag_http_request_duration_seconds",
            "Time from request to the last byte of the response (streams included)",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge("rag_http_requests_in_flight", "Requests being served", registry=self.registry)
        self.index_documents = Gauge("rag_index_documents", "Documents in the index", registry=self.registry)
        self.index_chunks = Gauge(
            "rag_index_chunks", "Chunks (passages) in the index", registry=self.registry
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route=route, method=method, status=str(status)).inc()
        self.latency.labels(route=route, method=method).observe(seconds)

    def render(self, stats: dict[str, Any] | None) -> bytes:
        """The exposition text; index gauges are read from the engine at scrape time."""
        if stats:
            self.index_documents.set(stats.get("documents", 0))
            self.index_chunks.set(stats.get("chunks", 0))
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): it times streamed responses to their end without buffering."""

    def __init__(self, app: ASGIApp, get_metrics: Callable[[], Metrics | None]) -> None:
        self.app = app
        self.get_metrics = get_metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics = self.get_metrics() if scope["type"] == "http" else None
        if metrics is None:
            await self.app(scope, receive, send)
            return
        status = 500
        t0 = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            metrics.in_flight.dec()
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            metrics.observe(template, scope.get("method", ""), status, time.perf_counter() - t0)
