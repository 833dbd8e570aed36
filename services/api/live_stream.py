"""The live stream of one site: polls the database and yields Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from prometheus_client import Gauge

from services.api.clock import now_utc
from services.api.queries.alerts import alerts_changed_since
from services.api.queries.timeseries import readings_since
from services.api.schemas.alerts import AlertPublic

KEEPALIVE_S = 15.0


def sse(event: str, data: Any, event_id: str | None = None) -> str:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return "\n".join(lines) + "\n\n"


def _resumed_from(last_event_id: str | None, now: datetime) -> datetime | None:
    """The moment a reconnecting client saw last (Last-Event-ID), if recent enough to replay."""
    if last_event_id and last_event_id.isdigit() and len(last_event_id) < 16:
        resumed = datetime.fromtimestamp(int(last_event_id) / 1000, UTC)
        if now - timedelta(hours=1) <= resumed <= now + timedelta(minutes=5):
            return resumed
    return None


class LiveStream:
    def __init__(
        self,
        *,
        engine: sa.Engine,
        site_code: str,
        site_id: int,
        point_codes: dict[int, str],
        latest: dict[int, datetime],
        poll_s: float,
        last_event_id: str | None,
        is_disconnected: Callable[[], Awaitable[bool]],
        gauge: Gauge,
    ) -> None:
        self.engine = engine
        self.site_code = site_code
        self.site_id = site_id
        self.point_codes = point_codes
        self.poll_s = poll_s
        self.is_disconnected = is_disconnected
        self.gauge = gauge
        now = now_utc()
        resumed = _resumed_from(last_event_id, now)
        # Without a resume point, everything stored after the newest reading already in the
        # database is news: a reading whose device time lies before the moment of connection
        # but which is stored after it still arrives.
        self.cursors = {pid: resumed or latest.get(pid, now) for pid in point_codes}
        self.alert_cursor = resumed or now

    def _poll(self) -> tuple[list[tuple[int, datetime, float, int]], list[dict[str, Any]]]:
        with self.engine.connect() as conn:
            new = readings_since(conn, self.cursors) if self.cursors else []
            changed = alerts_changed_since(conn, self.site_id, self.alert_cursor)
        return new, changed

    def _readings_event(self, new: list[tuple[int, datetime, float, int]]) -> str:
        for pid, ts, _, _ in new:
            self.cursors[pid] = max(self.cursors[pid], ts)
        newest = max(ts for _, ts, _, _ in new)
        items = [
            {"point": self.point_codes[pid], "ts": ts.isoformat(), "v": v, "q": q}
            for pid, ts, v, q in new
        ]
        return sse(
            "readings",
            {"site": self.site_code, "readings": items},
            str(int(newest.timestamp() * 1000)),
        )

    def _alert_events(self, changed: list[dict[str, Any]]) -> list[str]:
        events = []
        for row in changed:
            self.alert_cursor = max(self.alert_cursor, row["changed_at"])
            events.append(sse("alert", AlertPublic.model_validate(row).model_dump(mode="json")))
        return events

    async def events(self) -> AsyncIterator[str]:
        self.gauge.inc()
        try:
            yield sse(
                "hello",
                {
                    "site": self.site_code,
                    "points": sorted(self.point_codes.values()),
                    "now": now_utc().isoformat(),
                },
            )
            last_sent = time.monotonic()
            while not await self.is_disconnected():
                new, changed = await anyio.to_thread.run_sync(self._poll)
                if new:
                    yield self._readings_event(new)
                    last_sent = time.monotonic()
                for event in self._alert_events(changed):
                    yield event
                    last_sent = time.monotonic()
                if time.monotonic() - last_sent >= KEEPALIVE_S:
                    yield ": keepalive\n\n"
                    last_sent = time.monotonic()
                await asyncio.sleep(self.poll_s)
        finally:
            self.gauge.dec()
