"""Ingest's registry snapshot: rebuilt when the registry changed, in any column it holds, and
only then (a province's snapshot is most of ingest's memory)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from benchmarks.support.registry_rows import add_device, add_site
from energywatch.storage.engine import make_engine
from services.ingest.registry import PointRef, RegistryCache


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url, pool_size=1)
    with engine.begin() as conn:
        s1 = add_site(conn, "S1")
        add_device(conn, s1, "D1", ["E01", "E02"])
        s2 = add_site(conn, "S2")
        add_device(conn, s2, "D9", ["E01"])
    yield engine
    engine.dispose()


def run(engine: sa.Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(sql))


def test_an_unchanged_registry_keeps_its_snapshot(engine: sa.Engine, db_url: str) -> None:
    clock = Clock()
    cache = RegistryCache(db_url, refresh_s=5, max_age_s=60, clock=clock)
    first = cache.get()
    assert set(first.points_of_site) == {"S1", "S2"} and first.sites_of_point["E01"] == (
        "S1",
        "S2",
    )
    clock.t = 61
    assert cache.get() is first  # looked again, found the same
    clock.t = 70
    assert cache.after_miss() is None  # a miss, but nothing new to know
    assert cache.rebuilds == 1


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE points SET unit = 'MWh' WHERE code = 'E02'",
        "UPDATE points SET device_id = (SELECT id FROM devices WHERE code = 'D9')"
        " WHERE code = 'E02'",
        "UPDATE sites SET code = 'S1B' WHERE code = 'S1'",
        "UPDATE devices SET code = 'D2' WHERE code = 'D1'",
        "DELETE FROM points WHERE code = 'E02'",
        "INSERT INTO points (site_id, device_id, code, measure, unit, kind)"
        " SELECT site_id, id, 'E03', 'electricity', 'kWh', 'cumulative' FROM devices"
        " WHERE code = 'D1'",
    ],
)
def test_any_change_it_holds_rebuilds_it(engine: sa.Engine, db_url: str, change: str) -> None:
    clock = Clock()
    cache = RegistryCache(db_url, refresh_s=5, max_age_s=60, clock=clock)
    before = cache.get()
    run(engine, change)
    clock.t = 10
    after = cache.after_miss()
    assert after is not None and after is cache.current and cache.rebuilds == 2
    assert after != before
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT s.code, p.code, p.id, p.device_id, p.unit FROM points p"
                " JOIN sites s ON s.id = p.site_id"
            )
        ).all()
        devices = conn.execute(
            sa.text("SELECT s.code, d.code, d.id FROM devices d JOIN sites s ON s.id = d.site_id")
        ).all()
    assert after.points_of_site == {
        site: {code: PointRef(i, d, u) for s, code, i, d, u in rows if s == site}
        for site in {r[0] for r in rows}
    }
    assert after.devices == {(s, code): i for s, code, i in devices}
