"""Registry rows for ingest tests and benchmarks, inserted with SQLAlchemy Core into the storage
tables."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from energywatch.storage.engine import make_engine
from energywatch.storage.tables import devices, points, sites


def add_site(conn: sa.Connection, code: str, division_code: str = "140100") -> int:
    row = conn.execute(
        sa.insert(sites)
        .values(code=code, name=f"site {code}", kind="enterprise", division_code=division_code)
        .returning(sites.c.id)
    ).scalar_one()
    return int(row)


def add_device(
    conn: sa.Connection,
    site_id: int,
    code: str,
    point_codes: Iterable[str],
    measure: str = "electricity",
    unit: str = "kWh",
) -> dict[str, int]:
    device_id = conn.execute(
        sa.insert(devices).values(site_id=site_id, code=code).returning(devices.c.id)
    ).scalar_one()
    ids = {}
    for point in point_codes:
        ids[point] = int(
            conn.execute(
                sa.insert(points)
                .values(
                    site_id=site_id,
                    device_id=device_id,
                    code=point,
                    measure=measure,
                    unit=unit,
                    kind="cumulative",
                )
                .returning(points.c.id)
            ).scalar_one()
        )
    return ids


def register(db_url: str, site: str, device: str, point_codes: Iterable[str]) -> dict[str, int]:
    """One site with one device and its electricity points; returns point ids by code."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            return add_device(conn, add_site(conn, site), device, point_codes)
    finally:
        engine.dispose()
