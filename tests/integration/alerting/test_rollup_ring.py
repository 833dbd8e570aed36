"""The in-memory rollup ring against the database: what an event, a tick and a sweep read."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from services.alerting.inputs import bucket_floor
from services.alerting.registry import load_registry
from services.alerting.rollup_cache import BUCKET_S, RollupCache
from tests.integration.alerting.support import add_buckets, add_point, add_site

B = timedelta(seconds=BUCKET_S)


def test_an_event_reads_its_points_recent_buckets_and_the_sweep_what_else_was_written(conn):
    site = add_site(conn, "S1")
    meter = add_point(conn, site, "E", "electricity")
    sub = add_point(conn, site, "E2", "electricity")
    conn.execute("UPDATE points SET metering_level = 3 WHERE id = %s", (sub,))
    now = conn.execute("SELECT now()").fetchone()[0]
    newest = bucket_floor(now) - B
    old = newest - 4 * B  # an hour before: outside what an event re-reads
    add_buckets(conn, meter, [(old, 1.0, 0.1, 0.2, 1.0), (newest, 2.0, 0.2, 0.4, 1.0)])
    add_buckets(conn, sub, [(newest, 5.0, 0.5, 1.0, 0.5)])
    reg = load_registry(conn)
    assert meter in reg.summed_points and sub not in reg.summed_points
    ring = RollupCache(points_per_row=1)  # every read in rows of one point each
    ring.refresh(conn, reg.points, reg.summed_points)  # the first read is a full one

    def sums() -> list[float]:
        lo = int(old.timestamp()) // BUCKET_S
        quantity, _ = ring.window_sums(lo, lo + 8, ring.rows_of([meter]))
        return quantity[0].tolist()

    assert sums() == [3.0]
    rows = ring.rows_of([meter, sub])
    lo = int(old.timestamp()) // BUCKET_S
    np.testing.assert_allclose(ring.window_completeness(lo, lo + 8, rows), [2.0, 0.5])
    # The rollup rewrites both buckets of the meter and says so.
    add_buckets(conn, meter, [(old, 10.0, 1.0, 2.0, 1.0), (newest, 20.0, 2.0, 4.0, 1.0)])
    ring.refresh(conn, reg.points, reg.summed_points, changed=())  # a tick reads nothing
    assert sums() == [3.0]
    ring.refresh(conn, reg.points, reg.summed_points, changed=[meter])  # the event
    assert sums() == [1.0 + 20.0]
    ring.refresh(conn, reg.points, reg.summed_points)  # the sweep: written since its last read
    assert sums() == [10.0 + 20.0]
