"""What ingest knows of the registry: which devices and points exist, and where.

`Registry` is an immutable snapshot with the lookups validation needs; `RegistryCache` reloads
it from the database on a miss (at most every `refresh_s`) and when it is older than `max_age_s`,
so a device registered while ingest runs is accepted within seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from energywatch.storage.engine import libpq_url


@dataclass(frozen=True)
class PointRef:
    id: int
    device_id: int
    unit: str


@dataclass(frozen=True)
class Registry:
    devices: dict[tuple[str, str], int] = field(default_factory=dict)
    points: dict[tuple[str, str], PointRef] = field(default_factory=dict)
    sites_of_point: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # site -> point code -> point: one lookup by code per reading, no key tuple to build
    points_of_site: dict[str, dict[str, PointRef]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_site: dict[str, dict[str, PointRef]] = {}
        for (site, code), ref in self.points.items():
            by_site.setdefault(site, {})[code] = ref
        object.__setattr__(self, "points_of_site", by_site)


_DEVICES_SQL = """
    SELECT s.code, d.code, d.id FROM devices d JOIN sites s ON s.id = d.site_id
"""
_POINTS_SQL = """
    SELECT s.code, p.code, p.id, p.device_id, p.unit FROM points p JOIN sites s ON s.id = p.site_id
"""


def load_registry(conn: psycopg.Connection) -> Registry:
    devices = {(site, code): int(id_) for site, code, id_ in conn.execute(_DEVICES_SQL)}
    points: dict[tuple[str, str], PointRef] = {}
    sites_of_point: dict[str, list[str]] = {}
    for site, code, id_, device_id, unit in conn.execute(_POINTS_SQL):
        points[(site, code)] = PointRef(int(id_), int(device_id), str(unit))
        sites_of_point.setdefault(code, []).append(site)
    return Registry(devices, points, {k: tuple(v) for k, v in sites_of_point.items()})


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

    @property
    def loaded(self) -> bool:
        return self._loaded_at is not None

    def reload(self) -> Registry:
        with psycopg.connect(self._url, connect_timeout=5, autocommit=True) as conn:
            self.current = load_registry(conn)
        self._loaded_at = self._clock()
        return self.current

    def get(self) -> Registry:
        """The snapshot, reloaded first when it is too old (raises psycopg.Error if it can't)."""
        if self._loaded_at is None or self._clock() - self._loaded_at > self._max_age_s:
            return self.reload()
        return self.current

    def after_miss(self) -> Registry | None:
        """A lookup missed: a fresh snapshot if the last load is old enough, else None."""
        if self._loaded_at is not None and self._clock() - self._loaded_at < self._refresh_s:
            return None
        return self.reload()
