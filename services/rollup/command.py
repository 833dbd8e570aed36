"""`energywatch rollup`: run rollup passes until stopped (or once, with `--once`).

Passes follow each other without pause while dirty buckets remain, then every
`rollup.interval_s`; between idle passes the outcome of TimescaleDB's background jobs is read
into the metrics (services/rollup/job_metrics.py). SIGINT/SIGTERM stop the loop after the
current pass. Prometheus metrics on `rollup.metrics_port`.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

import psycopg
from prometheus_client import Counter, Gauge, Histogram

from energywatch.backoff import Backoff
from energywatch.dependencies import Dependency, connect_database, database_problem
from energywatch.errors import DependencyError
from energywatch.settings import Settings
from energywatch.storage import dirty_marks
from energywatch.storage.engine import libpq_url
from energywatch.storage.jobs import job_statuses
from services.rollup.compute import CounterRules
from services.rollup.job_metrics import observe_jobs
from services.rollup.worker import DAY_MS, Carry, Options, PassReport, drain, rebuild, run_pass

log = logging.getLogger(__name__)

PASSES = Counter("energywatch_rollup_passes_total", "Rollup passes that held the lock")
ROWS = Counter("energywatch_rollup_rows_total", "consumption_15min rows written")
READINGS = Counter("energywatch_rollup_readings_total", "Readings read by the rollup")
PASS_SECONDS = Histogram("energywatch_rollup_pass_seconds", "Duration of a rollup pass")
CLAIM_LIMIT = Gauge("energywatch_rollup_claim_limit_points", "Points the last pass could claim")
OLDEST_MARK = Gauge(
    "energywatch_rollup_oldest_mark_seconds",
    "Age of the oldest dirty mark claimed by the last pass, when it began",
)
LOOKBACK_SPANS = Counter(
    "energywatch_rollup_lookback_ranges_total",
    "Ranges loaded with the lookback (the counter's state at their start not carried over)",
)
FAILED = Counter(
    "energywatch_rollup_failed_ranges_total",
    "Ranges whose write failed (still dirty, retried in a later pass; the log says why)",
)
FROZEN = Counter(
    "energywatch_rollup_beyond_retention_total",
    "Dirty buckets older than the raw-data horizon, released without recomputing",
)
HOURLY_FAILED = Counter(
    "energywatch_rollup_hourly_refresh_failed_total",
    "Refreshes of old hours of the hourly aggregate that failed",
)


def options_from(settings: Settings) -> Options:
    r = settings.rollup
    return Options(
        batch_points=r.batch_points,
        max_batch_points=r.max_batch_points,
        pass_target_s=r.pass_target_s,
        lookback_ms=int(r.lookback_hours * 3_600_000),
        rules=CounterRules(reset_share=r.reset_share, wrap_share=r.wrap_share),
        max_span_ms=DAY_MS,
        retain_ms=None
        if settings.database.retain_days is None
        else settings.database.retain_days * DAY_MS,
    )


def _observe(report: PassReport) -> None:
    if report.locked and report.points:
        PASSES.inc()
        ROWS.inc(report.rows)
        READINGS.inc(report.readings)
        PASS_SECONDS.observe(report.seconds)
        FAILED.inc(report.failed)
        FROZEN.inc(report.frozen)
        HOURLY_FAILED.inc(report.hourly_failed)
        CLAIM_LIMIT.set(report.claim_limit)
        LOOKBACK_SPANS.inc(report.lookback_spans)
        if report.oldest_mark_s is not None:
            OLDEST_MARK.set(report.oldest_mark_s)


AUTOVACUUM_OFF = (
    "the database server's autovacuum is off (autovacuum or track_counts): the consumption"
    " tables will bloat and the rollup slow down; turn it on in postgresql.conf"
)


class QueueVacuum:
    """Vacuums the dirty-mark tables every `dirty_marks.VACUUM_EVERY_S`, on a connection of
    its own in autocommit (the pass's connection keeps its transaction settings) and in a
    thread of its own (`keep_vacuuming`), so no pass waits for it. The first
    time, it says in one line if the server's autovacuum is off: nothing else removes the dead
    rows every pass leaves in consumption_15min and consumption_daily."""

    def __init__(self, url: str, every_s: float = dirty_marks.VACUUM_EVERY_S) -> None:
        self.url = url
        self.every_s = every_s
        self.next_at = 0.0
        self.checked_autovacuum = False

    def maybe(self, now: float) -> bool:
        """Vacuum if due; whether it did. A failure is tried again when next due: logged, unless
        the database is away, which the passes' loop reports in one line of its own."""
        if now < self.next_at:
            return False
        self.next_at = now + self.every_s
        try:
            with connect_database(self.url, autocommit=True) as conn:
                dirty_marks.vacuum(conn)
                if not self.checked_autovacuum:
                    self.checked_autovacuum = True
                    if not dirty_marks.autovacuum_runs(conn):
                        log.warning(AUTOVACUUM_OFF)
        except (DependencyError, psycopg.OperationalError) as exc:
            log.debug("vacuum of the dirty-mark tables skipped, the database is away: %s", exc)
            return False
        except psycopg.Error as exc:
            log.warning(
                "vacuum of the dirty-mark tables failed, retried in %.0f s: %s", self.every_s, exc
            )
            return False
        return True

    def keep_vacuuming(self, stop: threading.Event) -> None:
        """Vacuum whenever due, until `stop`."""
        while not stop.is_set():
            self.maybe(time.monotonic())
            stop.wait(max(self.next_at - time.monotonic(), 0.0))


def rebuild_all(settings: Settings) -> None:
    """Recompute consumption_15min from every stored reading (after changing reference data,
    counter rules or a point's scale). Runs alongside a live worker: both take the same lock."""
    with connect_database(settings.database.url) as conn:
        passes = rebuild(conn, options_from(settings))
    log.info("rollup rebuilt in %d passes", passes)


def run(settings: Settings, once: bool = False) -> None:
    options = options_from(settings)
    url = libpq_url(settings.database.url)
    if once:
        with connect_database(url) as once_conn:
            passes = drain(once_conn, options)
        log.info("rollup: %d passes, nothing left dirty", passes)
        return

    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    if settings.rollup.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.rollup.metrics_port)
    log.info(
        "rollup every %.1f s, %d to %d points per pass (passes of about %.0f s)",
        settings.rollup.interval_s,
        options.batch_points,
        options.max_batch_points,
        options.pass_target_s,
    )
    carry = Carry.of(options)
    threading.Thread(
        target=QueueVacuum(url).keep_vacuuming, args=(stop,), name="queue-vacuum", daemon=True
    ).start()
    database = Dependency("database", log)
    backoff = Backoff(settings.rollup.interval_s, max(60.0, settings.rollup.interval_s))
    conn: psycopg.Connection | None = None
    try:
        while not stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = connect_database(url)
                report = run_pass(conn, options, carry=carry)
                database.up()
                backoff.reset()
                _observe(report)
                if report.progressed:
                    log.debug("pass: %s", report)
                    continue  # more may be waiting
                with conn.transaction():
                    observe_jobs(job_statuses(conn))
            except (DependencyError, psycopg.OperationalError, psycopg.InterfaceError) as exc:
                # The database is away: one line when it goes, one when it is back.
                problem = str(exc) if isinstance(exc, DependencyError) else None
                database.down(problem or database_problem(url, exc))
                if conn is not None:
                    conn.close()
                conn = None
                stop.wait(backoff.failed())
                continue
            except psycopg.Error:
                log.exception("rollup pass failed; reconnecting")
                if conn is not None:
                    conn.close()
                conn = None
            except Exception:
                # the pass rolled back and its marks stay; keep serving, the log says why
                log.exception(
                    "rollup pass failed; retrying after %.1f s", settings.rollup.interval_s
                )
            stop.wait(settings.rollup.interval_s)
    finally:
        if conn is not None:
            conn.close()
