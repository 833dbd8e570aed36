"""Security headers on every answer, as one plain ASGI middleware (it never buffers a body, so
the live streams pass through untouched).

- Content-Security-Policy: the dashboard's scripts, styles, images and connections come from
  this server only (ECharts from /vendor); no plugins, no framing. `style-src` allows inline
  styles because ECharts writes its tooltips as HTML with style attributes. A route that sets
  its own policy (the API documentation pages) keeps it.
- X-Frame-Options: DENY, for browsers that predate frame-ancestors.
- X-Content-Type-Options: nosniff; Referrer-Policy: no-referrer.
- Cache-Control: no-store on every API answer and on any answer to a request that carries
  credentials: no proxy or browser cache keeps scoped data or a token.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
FIXED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
CREDENTIAL_HEADERS = (b"authorization", b"x-api-key", b"cookie")


def _private(scope: Scope) -> bool:
    """Whether the answer may hold what only this caller may see."""
    if str(scope.get("path", "")).startswith("/api/"):
        return True
    if any(name.lower() in CREDENTIAL_HEADERS for name, _ in scope.get("headers", ())):
        return True
    return "ticket" in parse_qs(scope.get("query_string", b"").decode("latin-1"))


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = _private(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", CONTENT_SECURITY_POLICY)
                for name, value in FIXED.items():
                    headers[name] = value
                if private:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI) -> None:
    app.add_middleware(SecurityHeadersMiddleware)
