"""The claim and release of dirty marks when the queue's statistics say it is empty.

dirty_buckets is a queue: a VACUUM or ANALYZE that finds it empty leaves statistics saying
"no rows", while a pass a minute later finds 100,000 marks there. Plans chosen for "no rows"
must still be right for many (docs/computation.md, "The claim's plan")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from services.rollup import store

POINTS = 20_000
BUCKETS = (datetime(2026, 11, 19, 16, 0, tzinfo=UTC), datetime(2026, 11, 19, 16, 15, tzinfo=UTC))


@pytest.fixture
def conn(db_url: str):
    with psycopg.connect(db_url, autocommit=True) as c:
        yield c


def plan_of(conn: psycopg.Connection, statement: str, params: tuple = ()) -> dict[str, Any]:
    row = conn.execute(f"EXPLAIN (FORMAT JSON) {statement}", params).fetchone()
    assert row is not None
    return row[0][0]["Plan"]  # psycopg parses the json


def nodes(plan: dict[str, Any]) -> list[str]:
    return [plan["Node Type"], *(n for child in plan.get("Plans", []) for n in nodes(child))]


def queue_that_looked_empty(conn: psycopg.Connection) -> None:
    """Marks of POINTS points, two buckets each, the point with the higher id marked earlier;
    the statistics taken when the queue was empty (its pages kept, as a vacuum that cannot
    truncate leaves them)."""
    fill = """
        INSERT INTO dirty_buckets (point_id, bucket, marked_at)
        SELECT g, b, now() - g * INTERVAL '1 second'
          FROM generate_series(1, %s) g, unnest(%s::timestamptz[]) b
    """
    conn.execute(fill, (POINTS, list(BUCKETS)))
    conn.execute("DELETE FROM dirty_buckets")
    conn.execute("VACUUM (TRUNCATE false) dirty_buckets")
    conn.execute(fill, (POINTS, list(BUCKETS)))


def test_the_claim_needs_no_join_when_the_queue_looked_empty(conn: psycopg.Connection) -> None:
    queue_that_looked_empty(conn)
    # the trap is set: the planner expects (almost) nothing in the queue
    assert plan_of(conn, "SELECT * FROM dirty_buckets")["Plan Rows"] <= 10
    conn.execute(store.CLAIM_DDL)
    kinds = nodes(plan_of(conn, store.CLAIM_SQL, (5_000,)))
    assert not [k for k in kinds if k in ("Nested Loop", "Hash Join", "Merge Join")], kinds

    with conn.transaction():
        claim = store.claim_dirty(conn, 5_000)
        # the release joins the claim, whose size is known, to the queue: no nested loop
        release = plan_of(
            conn,
            "DELETE FROM dirty_buckets d USING rollup_claim c"
            " WHERE d.point_id = c.point_id AND d.bucket = c.bucket AND d.xmin = c.version",
        )
        assert "Nested Loop" not in nodes(release), nodes(release)
        store.release(conn, claim)
    # the 5,000 points marked earliest (the highest ids), every bucket of each
    assert sorted(set(claim.point_id)) == list(range(POINTS - 5_000 + 1, POINTS + 1))
    assert len(claim.point_id) == 2 * 5_000
    assert claim.oldest_age_s is not None
    assert POINTS <= claim.oldest_age_s < POINTS + 60
    left = conn.execute("SELECT count(*), max(point_id) FROM dirty_buckets").fetchone()
    assert left == (2 * (POINTS - 5_000), POINTS - 5_000)


def test_points_marked_at_the_same_moment_are_claimed_whole(conn: psycopg.Connection) -> None:
    marked = datetime.now(UTC) - timedelta(minutes=1)
    conn.execute(
        """
        INSERT INTO dirty_buckets (point_id, bucket, marked_at)
        SELECT g, b, %s FROM generate_series(1, 10) g, unnest(%s::timestamptz[]) b
        """,
        (marked, list(BUCKETS)),
    )
    with conn.transaction():
        claim = store.claim_dirty(conn, 3)
    # ties broken by point id; a point's buckets are never split between passes
    assert claim.by_point() == {p: [int(b.timestamp() * 1000) for b in BUCKETS] for p in (1, 2, 3)}
