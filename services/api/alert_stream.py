"""The alert stream of everything in the caller's scope (the regulator's inbox), as SSE."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from prometheus_client import Gauge

from services.api.clock import now_utc
from services.api.live_stream import KEEPALIVE_S, sse
from services.api.principal import Principal
from services.api.queries.alerts import alerts_changed_in_scope
from services.api.schemas.alerts import AlertPublic


class AlertStream:
    def __init__(
        self,
        *,
        engine: sa.Engine,
        principal: Principal,
        poll_s: float,
        is_disconnected: Callable[[], Awaitable[bool]],
        gauge: Gauge,
    ) -> None:
        self.engine = engine
        self.principal = principal
        self.poll_s = poll_s
        self.is_disconnected = is_disconnected
        self.gauge = gauge
        self.cursor = now_utc()

    def _poll(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return alerts_changed_in_scope(conn, self.principal, self.cursor)

    async def events(self) -> AsyncIterator[str]:
        self.gauge.inc()
        try:
            yield sse(
                "hello",
                {
                    "scope": self.principal.scope_text,
                    "role": self.principal.role,
                    "now": now_utc().isoformat(),
                },
            )
            last_sent = time.monotonic()
            while not await self.is_disconnected():
                for row in await anyio.to_thread.run_sync(self._poll):
                    self.cursor = max(self.cursor, row["changed_at"])
                    yield sse("alert", AlertPublic.model_validate(row).model_dump(mode="json"))
                    last_sent = time.monotonic()
                if time.monotonic() - last_sent >= KEEPALIVE_S:
                    yield ": keepalive\n\n"
                    last_sent = time.monotonic()
                await asyncio.sleep(self.poll_s)
        finally:
            self.gauge.dec()
