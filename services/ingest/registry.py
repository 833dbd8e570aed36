"""What ingest knows of the registry: which devices and points exist, and where.

`Registry` is an immutable snapshot with the lookups validation needs; `RegistryCache` reloads
it from the database on a miss (at most every `refresh_s`) and when it is older than `max_age_s`,
so a device registered while ingest runs is accepted within seconds.

A province holds 200,000 points, and a snapshot of them is most of ingest's memory. So the
snapshot is compact (one dict per site, each code and unit string once), and it is rebuilt only
when the registry changed: before each reload a fingerprint of the rows (one aggregate, a few
dozen milliseconds on the server) is compared with the snapshot's. Rebuilding an unchanged
snapshot every minute is what made ingest's resident memory climb (docs/ingest.md, Memory).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import psycopg

from energywatch.storage.engine import libpq_url


@dataclass(frozen=True, slots=True)
class PointRef:
    id: int
    device_id: int
    unit: str


@dataclass(frozen=True)
class Registry:
    devices: dict[tuple[str, str], int] = field(default_factory=dict)
    # site -> point code -> point: one lookup by code per reading, no key tuple to build
    points_of_site: dict[str, dict[str, PointRef]] = field(default_factory=dict)
    sites_of_point: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fingerprint: str | None = None  # of the rows it was built from (`FINGERPRINT_SQL`)

    @classmethod
    def of_points(
        cls,
        devices: dict[tuple[str, str], int],
        points: Iterable[tuple[str, str, PointRef]],
        fingerprint: str | None = None,
    ) -> Registry:
        """From (site, point code, point) rows."""
        by_site: dict[str, dict[str, PointRef]] = {}
        sites_of_point: dict[str, list[str]] = {}
        for site, code, ref in points:
            by_site.setdefault(site, {})[code] = ref
            sites_of_point.setdefault(code, []).append(site)
        return cls(devices, by_site, {k: tuple(v) for k, v in sites_of_point.items()}, fingerprint)


_DEVICES_SQL = """
    SELECT s.code, d.code, d.id FROM devices d JOIN sites s ON s.id = d.site_id
"""
_POINTS_SQL = """
    SELECT s.code, p.code, p.id, p.device_id, p.unit FROM points p JOIN sites s ON s.id = p.site_id
"""
# Every column the snapshot holds, summed as 64-bit hashes: any row added, removed or changed
# changes it (the text between rows is unambiguous: codes hold no '/').
FINGERPRINT_SQL = """
    SELECT (SELECT count(*) || ':' || coalesce(sum(hashtextextended(
                s.code || '/' || d.code || '/' || d.id, 0)), 0)
              FROM devices d JOIN sites s ON s.id = d.site_id)
        || '|' ||
           (SELECT count(*) || ':' || coalesce(sum(hashtextextended(
                s.code || '/' || p.code || '/' || p.id || '/' || p.device_id || '/' || p.unit,
                0)), 0)
              FROM points p JOIN sites s ON s.id = p.site_id)
"""


def registry_fingerprint(conn: psycopg.Connection) -> str:
    row = conn.execute(FINGERPRINT_SQL).fetchone()
    assert row is not None
    return str(row[0])


def load_registry(conn: psycopg.Connection) -> Registry:
    with conn.transaction():  # the fingerprint of the rows read, not of a later state
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        fingerprint = registry_fingerprint(conn)
        once: dict[str, str] = {}  # each code and unit one string, however many rows repeat it

        def one(text: str) -> str:
            return once.setdefault(text, text)

        devices = {
            (one(site), one(code)): int(id_) for site, code, id_ in conn.execute(_DEVICES_SQL)
        }
        rows = (
            (one(site), one(code), PointRef(int(id_), int(device_id), one(unit)))
            for site, code, id_, device_id, unit in conn.execute(_POINTS_SQL)
        )
        return Registry.of_points(devices, rows, fingerprint)


class RegistryCache:
    def __init__(
        self,
        database_url: str,
        refresh_s: float,
        max_age_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = libpq_url(database_url)
        self._refresh_s = refresh_s
        self._max_age_s = max_age_s
        self._clock = clock
        self._loaded_at: float | None = None
        self.current = Registry()
        self.rebuilds = 0  # snapshots built: the first, then one per change seen

    @property
    def loaded(self) -> bool:
        return self._loaded_at is not None

    def reload(self) -> bool:
        """Bring the snapshot up to the database's registry; True if it was rebuilt (it is only
        when the registry changed)."""
        with psycopg.connect(self._url, connect_timeout=5, autocommit=True) as conn:
            changed = (
                self.current.fingerprint is None
                or registry_fingerprint(conn) != self.current.fingerprint
            )
            if changed:
                self.current = load_registry(conn)
                self.rebuilds += 1
        self._loaded_at = self._clock()
        return changed

    def get(self) -> Registry:
        """The snapshot, reloaded first when it is too old (raises psycopg.Error if it can't)."""
        if self._loaded_at is None or self._clock() - self._loaded_at > self._max_age_s:
            self.reload()
        return self.current

    def after_miss(self) -> Registry | None:
        """A lookup missed: a new snapshot if the last look is old enough and the registry has
        changed since, else None."""
        if self._loaded_at is not None and self._clock() - self._loaded_at < self._refresh_s:
            return None
        return self.current if self.reload() else None
