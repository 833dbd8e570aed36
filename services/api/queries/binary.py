"""Hot-path reads through psycopg's binary protocol, on the request's own connection.

Rows of timestamps and floats arrive several times faster in binary than as text parsed by
the driver; this matters for the live view's thousands of buckets. Same transaction as the
rest of the request; parameters in psycopg's `%(name)s` style.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def fetch_binary(conn: sa.Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor(binary=True) as cur:
        cur.execute(sql, params)
        return cur.fetchall()
