"""One pass of the rollup, and a rebuild from scratch.

A pass, in one transaction: fold the log of the buckets ingest touched into dirty marks
(energywatch/storage/dirty_marks.py); claim the dirty buckets of the points waiting longest;
plan the ranges to recompute (plan.py); load the readings reaching into them; compute with the
numba core (compute.py); replace those buckets in consumption_15min; delete the claimed marks
that nobody renewed meanwhile; NOTIFY alerting of the points rewritten (delivered on commit,
energywatch/storage/changes.py). A transaction-scoped advisory lock keeps two workers from
computing the same buckets at once; a worker that does not get it skips the pass.

A worker keeps two things from pass to pass (`Carry`): how many points to claim, sized by the
rate of the passes before (batch.py), and where each register's counting stood at the edges of
the range it last computed, so that a range starting there is loaded without the lookback
(counter_state.py). Without a `Carry`, a pass claims `Options.batch_points` and loads every
range with the lookback.

Two limits keep a pass from doing harm. Buckets older than the raw-data horizon
(`Options.retain_ms`, from `database.retain_days`) are never recomputed: retention may have
dropped some of their readings, and recomputing a day from what is left would replace its
true total by a part of it; their marks are released and counted (`PassReport.frozen`). And
each group of ranges is written in a savepoint: a group that fails is retried range by range,
a range that still fails is logged, counted (`PassReport.failed`) and put back at the end of
the queue (its marks stay), and the rest of the pass commits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import psycopg

from energywatch.storage import changes, dirty_marks
from services.rollup import hourly, store
from services.rollup.batch import BatchSizer
from services.rollup.compute import CounterRules, Readings, Rows, compute_settling
from services.rollup.conversions import PointInfo, ReferenceRows
from services.rollup.counter_state import CounterStates
from services.rollup.plan import Span, clip, dirty_runs, floor_bucket, merge, split, widen

log = logging.getLogger(__name__)

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Options:
    batch_points: int = 500  # the fewest points a pass claims (services/rollup/batch.py)
    max_batch_points: int = 100_000  # the most
    pass_target_s: float = 10.0  # the claim is sized for passes of about this long
    lookback_ms: int = 2 * 3_600_000
    rules: CounterRules = field(default_factory=CounterRules)
    max_span_ms: int = DAY_MS
    # dirty buckets closer than this are recomputed as one range (fewer queries, more buckets)
    run_gap_ms: int = 3_600_000
    # total span length loaded and computed at once (bounds the readings held in memory)
    group_ms: int = 50 * DAY_MS
    # how long raw readings are kept (database.retain_days), None: for good
    retain_ms: int | None = None
    clock: Callable[[], float] = time.time  # seconds since the epoch

    def horizon(self, now_ms: int) -> int | None:
        """The first bucket (ms) the rollup may recompute: retention drops readings a whole
        day chunk at a time once they are `retain_ms` old, so one day of margin keeps every
        recomputed bucket, and the lookback before it, clear of partly dropped days."""
        if self.retain_ms is None:
            return None
        return floor_bucket(now_ms - self.retain_ms + DAY_MS)


@dataclass
class Carry:
    """What a worker keeps from one pass to the next: the claim's size, and where registers'
    counting stood at recent bucket edges (services/rollup/counter_state.py)."""

    sizer: BatchSizer
    states: CounterStates = field(default_factory=CounterStates)

    @classmethod
    def of(cls, options: Options) -> Carry:
        return cls(
            BatchSizer(
                min_points=options.batch_points,
                max_points=max(options.batch_points, options.max_batch_points),
                target_s=options.pass_target_s,
            )
        )


@dataclass(frozen=True)
class PassReport:
    locked: bool
    points: int = 0
    spans: int = 0
    readings: int = 0
    rows: int = 0
    seconds: float = 0.0
    failed: int = 0  # ranges whose write failed: still dirty, retried in a later pass
    frozen: int = 0  # dirty buckets older than the raw-data horizon: released, not recomputed
    hourly_refreshed: int = 0  # ranges of the hourly aggregate refreshed (older than its policy)
    hourly_failed: int = 0
    claim_limit: int = 0  # points the pass could claim
    oldest_mark_s: float | None = None  # age of its oldest claimed mark when it began
    lookback_spans: int = 0  # ranges loaded with the lookback (no settled edge to start from)

    @property
    def progressed(self) -> bool:
        """Whether the pass cleared some dirty bucket (a next pass may find more to do)."""
        return self.points > 0 and (self.spans == 0 or self.failed < self.spans)


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
    conn: psycopg.Connection,
    options: Options,
    reference: ReferenceRows | None = None,
    carry: Carry | None = None,
) -> PassReport:
    """One pass on `conn` (autocommit off or on: the pass runs in its own transaction), then
    the refresh of the hourly aggregate's hours it rewrote beyond the aggregate's policy.
    Without `carry`, the pass claims `options.batch_points` points and loads every range with
    the lookback; with it, the claim is sized and the lookback skipped where it can be."""
    t0 = time.perf_counter()
    limit = options.batch_points if carry is None else carry.sizer.size
    with conn.transaction():
        if not dirty_marks.try_lock(conn):
            return PassReport(locked=False)
        number = store.pass_number(conn)
        states = None if carry is None else carry.states
        if states is not None:
            states.follow(number)
        dirty_marks.fold(conn)  # what ingest logged since the last pass
        claim = store.claim_dirty(conn, limit)
        if not claim.point_id:
            return PassReport(locked=True, claim_limit=limit)
        by_point = claim.by_point()
        if states is not None:
            states.forget_after(by_point)
        points = store.load_points(conn, list(by_point))
        now_ms = int(options.clock() * 1000)
        horizon = options.horizon(now_ms)
        frozen = 0 if horizon is None else sum(b < horizon for b in claim.bucket)
        rolled = {
            p: [b for b in buckets if horizon is None or b >= horizon]
            for p, buckets in by_point.items()
            if p in points and points[p].kind != "instantaneous"
        }
        reference = reference or store.load_reference(conn)
        spans = clip(plan_spans(conn, {p: b for p, b in rolled.items() if b}, options), horizon)
        compressed = store.compressed_ranges(conn)
        n_readings = n_rows = n_lookback = 0
        failed: list[Span] = []
        settled: list[tuple[int, int, int]] = []
        for group in groups(spans, options.group_ms):
            readings, looked_back = _load(conn, group, points, options, states)
            rows, group_settled = compute_settling(
                group, points, readings, reference, options.rules
            )
            group_failed = _write(conn, group, rows, compressed)
            failed += group_failed
            lost = {s.point_id for s in group_failed}
            settled += [e for e in group_settled if e[0] not in lost]
            n_readings += int(readings.ts.shape[0])
            n_rows += len(rows)
            n_lookback += looked_back
        store.defer(conn, failed)
        store.release(conn, claim)
        written = sorted(set(spans) - set(failed))
        if written:  # alerting's rolling sums and budgets react to this commit
            with conn.cursor() as cur:
                changes.announce(cur, changes.ROLLUPS_CHANNEL, [s.point_id for s in written])
        reach = hourly.policy_reach_ms(conn) if written else None
    if states is not None:  # only what a committed pass computed
        states.learn(settled)
    seconds = time.perf_counter() - t0
    if carry is not None:
        carry.sizer.observe(len(by_point), seconds)
    stale = [] if reach is None else hourly.stale_ranges(written, now_ms - reach)
    hourly_failed = hourly.refresh(conn, stale)
    if frozen:
        log.warning(
            "%d dirty buckets older than the raw-data horizon were not recomputed"
            " (retention may have dropped part of their readings)",
            frozen,
        )
    return PassReport(
        locked=True,
        points=len(by_point),
        spans=len(spans),
        readings=n_readings,
        rows=n_rows,
        seconds=time.perf_counter() - t0,
        failed=len(failed),
        frozen=frozen,
        hourly_refreshed=len(stale) - hourly_failed,
        hourly_failed=hourly_failed,
        claim_limit=limit,
        oldest_mark_s=claim.oldest_age_s,
        lookback_spans=n_lookback,
    )


def _load(
    conn: psycopg.Connection,
    group: Sequence[Span],
    points: dict[int, PointInfo],
    options: Options,
    states: CounterStates | None,
) -> tuple[Readings, int]:
    """The readings of a group of ranges, and how many ranges needed the lookback.

    A register's range starting at a settled edge, and an interval meter's range, are loaded
    from their start (plus the last usable reading before it); a register's range whose reading
    before its start is not the one remembered is loaded again with the lookback."""
    if states is None:
        return store.load_readings(conn, group, options.lookback_ms), len(group)
    expected = [states.reference_time(s) for s in group]
    cumulative = [points[s.point_id].kind == "cumulative" for s in group]
    short = [not c or e is not None for c, e in zip(cumulative, expected, strict=True)]
    lookbacks = [0 if ok else options.lookback_ms for ok in short]
    readings = store.load_readings(conn, group, lookbacks)
    checked = [c and ok for c, ok in zip(cumulative, short, strict=True)]
    before = _last_before_start(group, readings, checked)
    again = [i for i, e in enumerate(expected) if checked[i] and before[i] != e]
    if not again:
        return readings, lookbacks.count(options.lookback_ms)
    redo = store.load_readings(conn, [group[i] for i in again], options.lookback_ms)
    keep = ~np.isin(readings.span, again)
    index = np.asarray(again, dtype=np.int64)
    merged = Readings(
        span=np.concatenate([readings.span[keep], index[redo.span]]),
        ts=np.concatenate([readings.ts[keep], redo.ts]),
        value=np.concatenate([readings.value[keep], redo.value]),
        quality=np.concatenate([readings.quality[keep], redo.quality]),
    )
    return merged, lookbacks.count(options.lookback_ms) + len(again)


def _last_before_start(
    group: Sequence[Span], readings: Readings, wanted: Sequence[bool]
) -> list[int | None]:
    """Per range (of those `wanted`): the time of the latest loaded reading before its start
    (ms), or None."""
    latest: list[int | None] = [None] * len(group)
    if not any(wanted):
        return latest
    starts = np.array([s.start for s in group], dtype=np.int64)
    rows = np.flatnonzero(
        np.asarray(wanted, dtype=bool)[readings.span] & (readings.ts < starts[readings.span])
    )
    for span, ts in zip(readings.span[rows].tolist(), readings.ts[rows].tolist(), strict=True):
        current = latest[span]
        if current is None or ts > current:
            latest[span] = ts
    return latest


def _rows_of(rows: Rows, span: Span) -> Rows:
    keep = (rows.point_id == span.point_id) & (rows.bucket >= span.start) & (rows.bucket < span.end)
    return Rows(
        point_id=rows.point_id[keep],
        bucket=rows.bucket[keep],
        quantity=rows.quantity[keep],
        tce=rows.tce[keep],
        tco2=rows.tco2[keep],
        completeness=rows.completeness[keep],
    )


def _write(
    conn: psycopg.Connection,
    group: Sequence[Span],
    rows: Rows,
    compressed: Sequence[tuple[int, int]],
) -> list[Span]:
    """Write a group in a savepoint; if that fails, each of its ranges in its own. Returns
    the ranges that could not be written (their writes rolled back)."""
    pieces = [(list(group), rows)]
    if len(group) > 1:
        try:
            with conn.transaction():
                store.write(conn, group, rows, compressed)
            return []
        except psycopg.Error:
            if conn.broken:
                raise
            pieces = [([span], _rows_of(rows, span)) for span in group]
    failed = []
    for spans, piece in pieces:
        try:
            with conn.transaction():
                store.write(conn, spans, piece, compressed)
        except psycopg.Error as exc:
            if conn.broken:
                raise
            log.error("rollup of %s failed, retried later: %s", spans[0], exc)
            failed.append(spans[0])
    return failed


def drain(
    conn: psycopg.Connection,
    options: Options,
    max_passes: int = 1_000_000,
    carry: Carry | None = None,
) -> int:
    """Run passes until no dirty bucket is left (or the lock is elsewhere); the passes run."""
    reference = None
    carry = carry or Carry.of(options)
    for n in range(max_passes):
        if reference is None:
            with conn.transaction():
                reference = store.load_reference(conn)
        report = run_pass(conn, options, reference, carry)
        if not report.progressed:
            return n
    return max_passes


def rebuild(
    conn: psycopg.Connection, options: Options, point_ids: Sequence[int] | None = None
) -> int:
    """Recompute consumption_15min from every stored reading (of `point_ids`, or all)."""
    with conn.transaction():
        store.mark_all_dirty(conn, point_ids)
    return drain(conn, options)
