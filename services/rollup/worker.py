"""One pass of the rollup, and a rebuild from scratch.

A pass, in one transaction: fold the log of the buckets ingest touched into dirty marks
(energywatch/storage/dirty_marks.py); claim the dirty buckets of the points waiting longest;
plan the ranges to recompute (plan.py); load the readings reaching into them; compute with the
numba core (compute.py); replace those buckets in consumption_15min; delete the claimed marks
that nobody renewed meanwhile. A transaction-scoped advisory lock keeps two workers from
computing the same buckets at once; a worker that does not get it skips the pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import psycopg

from energywatch.storage import dirty_marks
from services.rollup import store
from services.rollup.compute import CounterRules, compute
from services.rollup.conversions import ReferenceRows
from services.rollup.plan import Span, dirty_runs, merge, split, widen

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Options:
    batch_points: int = 500
    lookback_ms: int = 2 * 3_600_000
    rules: CounterRules = field(default_factory=CounterRules)
    max_span_ms: int = DAY_MS
    # dirty buckets closer than this are recomputed as one range (fewer queries, more buckets)
    run_gap_ms: int = 3_600_000
    # total span length loaded and computed at once (bounds the readings held in memory)
    group_ms: int = 50 * DAY_MS


@dataclass(frozen=True)
class PassReport:
    locked: bool
    points: int = 0
    spans: int = 0
    readings: int = 0
    rows: int = 0
    seconds: float = 0.0


def plan_spans(
    conn: psycopg.Connection, by_point: dict[int, list[int]], options: Options
) -> list[Span]:
    runs = [
        (point_id, lo, hi)
        for point_id, buckets in sorted(by_point.items())
        for lo, hi in dirty_runs(buckets, options.run_gap_ms)
    ]
    around = store.neighbours(conn, runs)
    widened = [
        Span(pid, *widen(lo, hi, prev, nxt))
        for (pid, lo, hi), (prev, nxt) in zip(runs, around, strict=True)
    ]
    return [piece for span in merge(widened) for piece in split(span, options.max_span_ms)]


def groups(spans: Sequence[Span], limit_ms: int) -> Iterator[list[Span]]:
    group: list[Span] = []
    total = 0
    for span in spans:
        if group and total + (span.end - span.start) > limit_ms:
            yield group
            group, total = [], 0
        group.append(span)
        total += span.end - span.start
    if group:
        yield group


def run_pass(
    conn: psycopg.Connection, options: Options, reference: ReferenceRows | None = None
) -> PassReport:
    """One pass on `conn` (autocommit off or on: the pass runs in its own transaction)."""
    t0 = time.perf_counter()
    with conn.transaction():
        if not dirty_marks.try_lock(conn):
            return PassReport(locked=False)
        dirty_marks.fold(conn)  # what ingest logged since the last pass
        claim = store.claim_dirty(conn, options.batch_points)
        if not claim.point_id:
            return PassReport(locked=True)
        by_point = claim.by_point()
        points = store.load_points(conn, list(by_point))
        rolled = {
            p: b for p, b in by_point.items() if p in points and points[p].kind != "instantaneous"
        }
        reference = reference or store.load_reference(conn)
        spans = plan_spans(conn, rolled, options)
        n_readings = n_rows = 0
        for group in groups(spans, options.group_ms):
            readings = store.load_readings(conn, group, options.lookback_ms)
            rows = compute(group, points, readings, reference, options.rules)
            store.write(conn, group, rows)
            n_readings += int(readings.ts.shape[0])
            n_rows += len(rows)
        store.release(conn, claim)
    return PassReport(
        locked=True,
        points=len(by_point),
        spans=len(spans),
        readings=n_readings,
        rows=n_rows,
        seconds=time.perf_counter() - t0,
    )


def drain(conn: psycopg.Connection, options: Options, max_passes: int = 1_000_000) -> int:
    """Run passes until no dirty bucket is left (or the lock is elsewhere); the passes run."""
    reference = None
    for n in range(max_passes):
        if reference is None:
            with conn.transaction():
                reference = store.load_reference(conn)
        report = run_pass(conn, options, reference)
        if not report.locked or report.points == 0:
            return n
    return max_passes


def rebuild(
    conn: psycopg.Connection, options: Options, point_ids: Sequence[int] | None = None
) -> int:
    """Recompute consumption_15min from every stored reading (of `point_ids`, or all)."""
    with conn.transaction():
        store.mark_all_dirty(conn, point_ids)
    return drain(conn, options)
