"""The writer threads' parts: one database connection each, and acknowledgement in order.

Several writers commit batches in parallel (PostgreSQL works on each COPY in its own backend
process, so two connections keep two cores busy where one left the writer waiting on the
server). Acknowledgements still leave in the order the batches were sealed, as MQTT asks of a
receiver (PUBACKs in the order of the PUBLISH packets): a writer whose batch committed early
waits for its turn.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import psycopg

from energywatch.backoff import Backoff
from energywatch.dependencies import Dependency, database_problem
from energywatch.storage.dirty_marks import fold
from energywatch.storage.engine import libpq_url
from services.ingest.batch import Batch
from services.ingest.metrics import IngestMetrics
from services.ingest.writer import WriteResult, prepare, write_batch

log = logging.getLogger(__name__)


class Refused(Exception):
    """The database refuses the data itself (not the connection), again and again; or the data
    cannot even be encoded for it."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class BatchWriter:
    """Writes batches on its own connection, reconnecting with backoff while the database is
    away; a batch the database keeps refusing raises `Refused`."""

    def __init__(
        self,
        url: str,
        metrics: IngestMetrics,
        abort: threading.Event,
        backoff_s: tuple[float, float],
        database: Dependency,
    ) -> None:
        self._url = libpq_url(url)
        self._database = database
        self._metrics = metrics
        self._abort = abort
        self._backoff_s = backoff_s
        self._conn: psycopg.Connection | None = None

    def write(self, batch: Batch) -> WriteResult | None:
        """The batch's result once committed; None if stopped first."""
        backoff = Backoff(*self._backoff_s)
        refusals = 0
        while not self._abort.is_set():
            try:
                conn = self._connection()
                started = time.perf_counter()
                result = write_batch(conn, batch)
                self._metrics.commit_seconds.observe(time.perf_counter() - started)
                self._metrics.db_up.set(1)
                self._database.up()
                return result
            except UnicodeError as exc:  # client side: retrying cannot help
                raise Refused(exc) from exc
            except psycopg.Error as exc:
                self._metrics.db_errors.inc()
                transient = isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
                self._metrics.db_up.set(0 if transient else 1)
                if transient:  # an outage: logged once, however many retries it takes
                    self._database.down(database_problem(self._url, exc))
                    self.close()
                else:
                    log.warning(
                        "database write refused (%s: %s); retrying in %.1f s",
                        type(exc).__name__,
                        str(exc).strip(),
                        backoff.next_s,
                    )
                    refusals += 1
                    if refusals >= 3:
                        raise Refused(exc) from exc
                backoff.wait(self._abort)
        return None

    def fold_marks(self) -> None:
        """Keep the dirty-bucket log short while no rollup runs (the rollup folds it too)."""
        conn = self._conn
        if conn is None or conn.closed:
            return
        try:
            marks = fold(conn)
            conn.commit()
        except psycopg.Error as exc:  # no batch depends on it: the next fold will do
            log.warning("could not fold the dirty-bucket log: %s", exc)
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
            return
        if marks is not None:
            log.debug("folded the dirty-bucket log into %d marks", marks)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._url, connect_timeout=5)
            prepare(self._conn)
        return self._conn


class InOrder:
    """Turns numbered 0, 1, 2, ...: `wait(n)` returns once turns before n are `done`."""

    def __init__(self) -> None:
        self._next = 0
        self._changed = threading.Condition()

    def wait(self, n: int, abort: threading.Event) -> bool:
        """False if aborted first."""
        with self._changed:
            while self._next != n:
                if abort.is_set():
                    return False
                self._changed.wait(0.5)
        return True

    def done(self, n: int) -> None:
        with self._changed:
            self._next = n + 1
            self._changed.notify_all()
