"""Which points changed: how ingest and the rollup tell alerting, through PostgreSQL NOTIFY.

A writer calls `announce` inside the transaction that stores the rows. PostgreSQL delivers a
NOTIFY issued in a transaction only when it commits, and never when it rolls back, so a
listener hears of exactly the committed changes, after they are visible.

A payload must stay under 8000 bytes. The point ids go sorted, each as the difference to the
one before in base 36 ("1a,1,1,3" for 46, 47, 48, 51), split over several notifications when
they would not fit; each notification starts with an absolute id, so each decodes on its own.
3,900 consecutive points fit in one (two bytes each). PostgreSQL folds identical notifications
of one transaction into one; the listener folds what arrived while it was busy (into a set).

Notifications are a shortcut, not the record: a listener that was away, or reconnected, or
lost one, finds the change in its next full sweep (services/alerting/command.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg

READINGS_CHANNEL = "energywatch_readings"  # ingest: new readings of these points
ROLLUPS_CHANNEL = "energywatch_rollups"  # rollup: rewritten 15-minute buckets of these points
# The registry's tables changed (sites, points, process units, intensity levels): sent by a
# statement trigger (migration alerting_0004_registry_notify), whoever wrote them; the payload
# is the table's name.
REGISTRY_CHANNEL = "energywatch_registry"
MAX_PAYLOAD = 7900  # PostgreSQL refuses 8000 bytes and more

PointIds = Iterable[int] | npt.NDArray[np.integer[Any]]


def encode(point_ids: PointIds) -> list[str]:
    """Payloads naming `point_ids` (any order, repeats allowed), each under MAX_PAYLOAD."""
    array = point_ids if isinstance(point_ids, np.ndarray) else list(point_ids)
    ids = np.unique(np.asarray(array, dtype=np.int64))
    payloads: list[str] = []
    parts: list[str] = []
    size = 0
    previous = 0
    for p in ids.tolist():
        part = np.base_repr(p - previous if parts else p, 36).lower()
        if parts and size + len(part) + 1 > MAX_PAYLOAD:
            payloads.append(",".join(parts))
            parts, size = [], 0
            part = np.base_repr(p, 36).lower()
        parts.append(part)
        size += len(part) + 1
        previous = p
    if parts:
        payloads.append(",".join(parts))
    return payloads


def decode(payload: str) -> list[int]:
    """The point ids of one payload (see `encode`)."""
    ids: list[int] = []
    at = 0
    for part in payload.split(","):
        if part:
            at = int(part, 36) + (at if ids else 0)
            ids.append(at)
    return ids


def announce(cur: psycopg.Cursor[Any], channel: str, point_ids: PointIds) -> None:
    """NOTIFY `channel` of `point_ids`, delivered when the caller's transaction commits."""
    payloads = encode(point_ids)
    if payloads:
        cur.execute("SELECT pg_notify(%s, p) FROM unnest(%s::text[]) AS p", (channel, payloads))
