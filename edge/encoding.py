"""Queued readings to the JSON payload of docs/protocol.md (`ReadingsMessage`).

Written by hand rather than through the pydantic model: replay must run at tens of thousands
of readings per second on a small box. The tests check the output against the model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

from edge.queue import QueuedReading


def format_ts(ts_ms: int, tz: timezone) -> str:
    dt = datetime.fromtimestamp(ts_ms / 1000, tz)
    return dt.isoformat(timespec="milliseconds" if ts_ms % 1000 else "seconds")


def encode_readings(
    seq: int,
    backfill: bool,
    rows: Sequence[QueuedReading],
    tz: timezone,
    units: Mapping[str, str] | None = None,
) -> bytes:
    readings = []
    for r in rows:
        item: dict[str, object] = {"point": r.point, "ts": format_ts(r.ts_ms, tz), "v": r.value}
        if r.quality:
            item["q"] = r.quality
        if units and (u := units.get(r.point)):
            item["u"] = u
        readings.append(item)
    message = {"seq": seq, "backfill": backfill, "readings": readings}
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def unencodable(rows: Sequence[QueuedReading], tz: timezone) -> dict[int, str]:
    """The rows `encode_readings` cannot encode, by id, with the reason (e.g. a year out of
    range); found one row at a time, so call it only after a batch failed."""
    bad: dict[int, str] = {}
    for r in rows:
        try:
            encode_readings(0, False, [r], tz)
        except (ValueError, OverflowError, OSError) as exc:
            bad[r.id] = f"{type(exc).__name__}: {exc}"
    return bad
