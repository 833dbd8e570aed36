"""Dirty 15-minute buckets: how ingest tells the rollup which buckets to recompute.

The rollup recomputes a bucket of a point when `dirty_buckets` holds it. A rollup pass claims
marks with their row version and deletes, at the end, only those nobody renewed meanwhile, so a
reading stored during the pass keeps its bucket dirty (services/rollup/store.py).

Ingest does not upsert those marks itself: one upsert per (point, bucket) per batch cost about
as much as the COPY of the readings. Each batch instead appends ONE row to `dirty_bucket_log`
(two arrays), in the transaction that stores its readings. `fold` moves the log into
`dirty_buckets`: every rollup pass folds first, and ingest folds now and then so the log stays
short while no rollup runs. A fold renews the marks it touches (a new row version), exactly as
the upsert by ingest did, so the rollup's claim-and-release stays correct. Folds run under the
rollup's advisory lock: never two at once, and never while a pass holds marks it claimed.

Both tables are queues: under a live load every mark is written and deleted about once a
minute, 200,000 a minute in a province. The rollup vacuums them itself every
`VACUUM_EVERY_S` (`vacuum`) rather than leave them to autovacuum's settings: with autovacuum
off, as on the server the province benchmark first ran an hour on, dirty_buckets gained 8 MB
of dead rows a minute, and the claim, which reads the whole table, took 0.39 of
PostgreSQL's backends by the end of the hour.

Buckets travel as their index: 15-minute steps since 2000-01-01 00:00 UTC, the storage contract's
date_bin('15 minutes', ts, '2000-01-01 00:00+00').
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import psycopg

from energywatch.storage.binary_copy import Int4s

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Ints = Sequence[int] | npt.NDArray[np.int32]

VACUUM_EVERY_S = 60.0
VACUUM_SQL = "VACUUM (SKIP_LOCKED) dirty_buckets, dirty_bucket_log"

# Held (transaction-scoped) by a rollup pass and by a fold.
ROLLUP_LOCK = 0x45_57_52_4F  # "EWRO"

LOG_SQL = "INSERT INTO dirty_bucket_log (point_ids, buckets) VALUES (%b::int4[], %b::int4[])"

# DELETE sees only committed log rows; a batch committing meanwhile stays for the next fold.
# Sorted, so concurrent folds lock marks in the same order.
FOLD_SQL = """
    WITH moved AS (
        DELETE FROM dirty_bucket_log RETURNING point_ids, buckets, marked_at
    )
    INSERT INTO dirty_buckets (point_id, bucket, marked_at)
    SELECT u.point_id, TIMESTAMPTZ '2000-01-01 00:00+00' + u.k * INTERVAL '15 minutes',
           min(m.marked_at)
      FROM moved m, unnest(m.point_ids, m.buckets) AS u(point_id, k)
     GROUP BY 1, 2
     ORDER BY 1, 2
    ON CONFLICT (point_id, bucket) DO UPDATE
       SET marked_at = least(dirty_buckets.marked_at, excluded.marked_at)
"""


def log_batch(cur: psycopg.Cursor, point_ids: Ints, buckets: Ints) -> None:
    """Record the (point, bucket index) pairs a batch touched, in the caller's transaction
    (sequences or arrays of integers, sent as binary int4[]: `Int4s`)."""
    if len(point_ids):
        cur.execute(LOG_SQL, (Int4s(point_ids), Int4s(buckets)))


def try_lock(conn: psycopg.Connection) -> bool:
    """Take the rollup's lock for the caller's transaction, if free (re-entrant)."""
    row = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (ROLLUP_LOCK,)).fetchone()
    return bool(row and row[0])


def fold(conn: psycopg.Connection) -> int | None:
    """Move the log into dirty_buckets, in the caller's transaction: the marks written, or
    None when a rollup pass holds the lock (it folds itself)."""
    if not try_lock(conn):
        return None
    return conn.execute(FOLD_SQL).rowcount


def vacuum(conn: psycopg.Connection) -> None:
    """Reclaim the rows the queues' churn left dead (`conn` in autocommit: VACUUM runs
    outside a transaction; SKIP_LOCKED: a table being altered is left for next time)."""
    conn.execute(VACUUM_SQL)


def autovacuum_runs(conn: psycopg.Connection) -> bool:
    """Whether the server's autovacuum runs: it needs `track_counts` as well (PostgreSQL
    manual, "The Autovacuum Daemon"). The queues are vacuumed by the rollup either way; the
    consumption tables, rewritten by every pass, are not."""
    row = conn.execute(
        "SELECT current_setting('autovacuum') = 'on' AND current_setting('track_counts') = 'on'"
    ).fetchone()
    return bool(row and row[0])
