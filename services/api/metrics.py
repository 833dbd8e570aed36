"""Prometheus metrics of one app (own registry, so two apps in one process never collide)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "energywatch_api_requests_total", "HTTP requests answered",
            ["method", "route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "energywatch_api_request_seconds", "time to answer an HTTP request",
            ["method", "route"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0),
        )
        self.streams = Gauge(
            "energywatch_api_live_streams", "open live streams", registry=self.registry
        )
        self.logins = Counter(
            "energywatch_api_logins_total", "login attempts", ["outcome"], registry=self.registry
        )

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _route_template(request: Request) -> str:
    """The matched route's template (bounded label values), never the raw path."""
    # Routes of included routers carry their full path in FastAPI's effective route context.
    context = (request.scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(context, "path", None) or getattr(request.scope.get("route"), "path", None)
    return str(path) if path else "unmatched"


def install_metrics(app: FastAPI, metrics: ApiMetrics) -> None:
    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        elapsed = time.perf_counter() - started
        # Lets a client tell time spent in the app from time spent on the way (RFC: W3C
        # Server-Timing); streams report the time to their first byte.
        response.headers["Server-Timing"] = f"app;dur={elapsed * 1000:.1f}"
        route = _route_template(request)
        if not route.startswith("/api"):
            route = route if route in ("/healthz", "/metrics") else "static"
        metrics.latency.labels(request.method, route).observe(elapsed)
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        return response
