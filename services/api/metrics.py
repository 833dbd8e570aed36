"""Prometheus metrics of one app (own registry, so two apps in one process never collide),
and the Server-Timing header. Plain ASGI middleware: it never buffers or re-streams a body."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from energywatch.dependencies import dependency_gauge


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "energywatch_api_requests_total",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "energywatch_api_request_seconds",
            "time to answer an HTTP request (to first byte)",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0),
        )
        self.streams = Gauge(
            "energywatch_api_live_streams", "open live streams", registry=self.registry
        )
        self.logins = Counter(
            "energywatch_api_logins_total", "login attempts", ["outcome"], registry=self.registry
        )
        self.dependency_up = dependency_gauge(self.registry)
        self.password_checks = Counter(
            "energywatch_api_password_checks_total",
            "passwords checked (Argon2) at login; limited attempts check none",
            registry=self.registry,
        )


def route_template(scope: Scope) -> str:
    """The matched route's template (bounded label values), never the raw path."""
    # Routes of included routers carry their full path in FastAPI's effective route context.
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(context, "path", None) or getattr(scope.get("route"), "path", None)
    if not path:
        return "unmatched"
    path = str(path)
    if path.startswith("/api") or path == "/healthz":
        return path
    return "static"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: dict[str, Any] = {}

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = time.perf_counter() - started
                status["code"] = message["status"]
                status["elapsed"] = elapsed
                headers = list(message.get("headers", []))
                # W3C Server-Timing: time inside the app, to the first byte of the answer
                headers.append((b"server-timing", f"app;dur={elapsed * 1000:.1f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            route = route_template(scope)
            method = scope.get("method", "")
            elapsed = status.get("elapsed", time.perf_counter() - started)
            self.metrics.latency.labels(method, route).observe(elapsed)
            self.metrics.requests.labels(method, route, str(status.get("code", 500))).inc()


def install_metrics(app: FastAPI, metrics: ApiMetrics) -> None:
    app.add_middleware(MetricsMiddleware, metrics=metrics)
