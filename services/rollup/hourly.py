"""Hours of the hourly continuous aggregate that its refresh policy no longer reaches.

On TimescaleDB `consumption_hourly` is a continuous aggregate whose policy refreshes the last
`database.hourly_refresh_days` only. When late data makes the rollup rewrite older buckets,
those hours would keep their old sums for good, so after a pass commits the rollup refreshes
them itself (`CALL refresh_continuous_aggregate`, which cannot run inside a transaction). A
refresh that fails is logged with the statement to run by hand; TimescaleDB keeps the range
invalidated until some refresh covers it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import psycopg

from services.rollup.plan import Span

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
VIEW = "consumption_hourly"


def policy_reach_ms(conn: psycopg.Connection) -> int | None:
    """How far back (ms) the aggregate's refresh policy reaches: None when the hourly figures
    are a plain view (nothing to refresh), 0 when the aggregate has no refresh policy."""
    row = conn.execute("SELECT to_regclass('timescaledb_information.jobs')").fetchone()
    if row is None or row[0] is None:
        return None
    found = conn.execute(
        """
        SELECT (extract(epoch FROM (j.config ->> 'start_offset')::interval) * 1000)::int8
          FROM timescaledb_information.continuous_aggregates a
          LEFT JOIN timescaledb_information.jobs j
            ON j.hypertable_name = a.view_name
           AND j.proc_name = 'policy_refresh_continuous_aggregate'
         WHERE a.view_name = %s
        """,
        (VIEW,),
    ).fetchone()
    if found is None:
        return None
    return int(found[0] or 0)


def stale_ranges(spans: Sequence[Span], reach_start: int) -> list[tuple[int, int]]:
    """Whole hours [start, end) ms, merged across points, of the spans that begin before
    `reach_start` (the oldest instant the policy refreshes)."""
    hours = sorted(
        ((s.start // HOUR_MS) * HOUR_MS, -((-s.end) // HOUR_MS) * HOUR_MS)
        for s in spans
        if s.start < reach_start
    )
    merged: list[tuple[int, int]] = []
    for lo, hi in hours:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def refresh(conn: psycopg.Connection, ranges: Sequence[tuple[int, int]]) -> int:
    """Refresh the aggregate over each range, outside any transaction; the ranges that
    failed. `conn` must not be in a transaction."""
    if not ranges:
        return 0
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        # the caller holds the pass in its own transaction: nothing is committed yet
        log.warning("%s not refreshed: the rollup pass ran inside the caller's transaction", VIEW)
        return len(ranges)
    failed = 0
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        for lo, hi in ranges:
            try:
                conn.execute(
                    "CALL refresh_continuous_aggregate(%s::regclass, %s::timestamptz,"
                    " %s::timestamptz)",
                    (VIEW, _ts(lo), _ts(hi)),
                )
            except psycopg.Error as exc:
                if conn.broken:
                    raise
                failed += 1
                log.error(
                    "refresh of %s failed; run CALL refresh_continuous_aggregate(%r, %r, %r): %s",
                    VIEW,
                    VIEW,
                    _ts(lo).isoformat(),
                    _ts(hi).isoformat(),
                    exc,
                )
    finally:
        conn.autocommit = autocommit
    return failed
