"""`energywatch registry import`: writes a validated registry file in one transaction.

A file is refused whole: every problem is reported with file, line and field, and the
database is left as it was. Importing the same file again updates in place (upsert by code).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from energywatch.errors import Problem, RegistryError
from energywatch.storage import tables as t
from energywatch.storage.passwords import hash_password
from energywatch.storage.registry_files import ParsedRegistry, PointRow, parse_registry_file
from energywatch.storage.registry_model import DeviceSpec, MeasuredFuelSpec, PointSpec, SiteSpec

# Buckets holding readings of a site's fuel over local days [d0, d1] (the reading at 24:00 of
# d1 included: it closes d1's last bucket) are recomputed with the measured values.
_MARK_FUEL_DAYS = sa.text(
    """
    INSERT INTO dirty_buckets (point_id, bucket)
    SELECT DISTINCT r.point_id, date_bin('15 minutes', r.ts, TIMESTAMPTZ '2000-01-01 00:00+00')
      FROM readings r
      JOIN points p ON p.id = r.point_id
      JOIN sites s ON s.id = p.site_id
     WHERE p.site_id = :site AND p.measure = :measure
       AND r.ts >= (CAST(:d0 AS date)::timestamp AT TIME ZONE s.timezone)
       AND r.ts <= ((CAST(:d1 AS date) + 1)::timestamp AT TIME ZONE s.timezone)
    ON CONFLICT (point_id, bucket) DO UPDATE SET marked_at = now()
    """
)


@dataclass(frozen=True)
class ImportSummary:
    sites: int
    devices: int
    points: int

    def __str__(self) -> str:
        return f"{self.sites} sites, {self.devices} devices, {self.points} points"


def _upsert(conn: sa.Connection, table: sa.Table, keys: list[str], row: dict[str, Any]) -> int:
    stmt = insert(table).values(row)
    # Updating the key to itself when nothing else changes still lets RETURNING see the row.
    updates = {c: stmt.excluded[c] for c in row if c not in keys} or {
        keys[-1]: stmt.excluded[keys[-1]]
    }
    upsert = stmt.on_conflict_do_update(index_elements=keys, set_=updates).returning(table.c.id)
    return int(conn.execute(upsert).scalar_one())


def _site_row(site: SiteSpec) -> dict[str, Any]:
    return site.model_dump(exclude={"devices", "measured_fuels"})


def _replace_measured_fuels(
    conn: sa.Connection, site_id: int, measured: list[MeasuredFuelSpec]
) -> None:
    """The file's measured values become the site's; the days of the old and the new ones
    are marked for the rollup to convert again."""
    old = conn.execute(
        sa.delete(t.measured_fuels)
        .where(t.measured_fuels.c.site_id == site_id)
        .returning(
            t.measured_fuels.c.measure, t.measured_fuels.c.valid_from, t.measured_fuels.c.valid_to
        )
    ).all()
    if measured:
        conn.execute(
            t.measured_fuels.insert(), [{**m.model_dump(), "site_id": site_id} for m in measured]
        )
    periods = {(r.measure, r.valid_from, r.valid_to) for r in old} | {
        (m.measure, m.valid_from, m.valid_to) for m in measured
    }
    for measure, d0, d1 in sorted(periods):
        conn.execute(_MARK_FUEL_DAYS, {"site": site_id, "measure": measure, "d0": d0, "d1": d1})


def _device_row(site_id: int, device: DeviceSpec) -> dict[str, Any]:
    row = device.model_dump(exclude={"points", "password"})
    row["site_id"] = site_id
    if device.password is not None:
        row["password_hash"] = hash_password(device.password)
    elif device.password_hash is None:
        row.pop("password_hash")  # keep a hash set earlier
    return row


def _point_row(site_id: int, device_id: int, point: PointSpec) -> dict[str, Any]:
    return {**point.model_dump(), "site_id": site_id, "device_id": device_id}


def _write_sites(conn: sa.Connection, sites: list[SiteSpec]) -> ImportSummary:
    n_devices = n_points = 0
    for site in sites:
        site_id = _upsert(conn, t.sites, ["code"], _site_row(site))
        if site.measured_fuels is not None:
            _replace_measured_fuels(conn, site_id, site.measured_fuels)
        for device in site.devices:
            device_id = _upsert(conn, t.devices, ["site_id", "code"], _device_row(site_id, device))
            n_devices += 1
            for point in device.points:
                _upsert(conn, t.points, ["site_id", "code"], _point_row(site_id, device_id, point))
                n_points += 1
    return ImportSummary(len(sites), n_devices, n_points)


def _write_point_rows(conn: sa.Connection, file: str, rows: list[PointRow]) -> ImportSummary:
    site_ids: dict[str, int] = {
        code: id_ for code, id_ in conn.execute(sa.select(t.sites.c.code, t.sites.c.id))
    }
    unknown = [
        Problem(file, r.line, "site", f"unknown site {r.site!r}; import it first")
        for r in rows
        if r.site not in site_ids
    ]
    if unknown:
        raise RegistryError(unknown)
    devices: dict[tuple[int, str], int] = {}
    for r in rows:
        site_id = site_ids[r.site]
        if (site_id, r.device) not in devices:
            devices[(site_id, r.device)] = _upsert(
                conn, t.devices, ["site_id", "code"], {"site_id": site_id, "code": r.device}
            )
        _upsert(
            conn,
            t.points,
            ["site_id", "code"],
            _point_row(site_id, devices[(site_id, r.device)], r.point),
        )
    return ImportSummary(0, len(devices), len(rows))


def import_registry(conn: sa.Connection, parsed: ParsedRegistry, file: str) -> ImportSummary:
    """Write parsed specs on `conn`; the caller owns the transaction."""
    if parsed.point_rows:
        return _write_point_rows(conn, file, parsed.point_rows)
    return _write_sites(conn, parsed.sites)


def import_registry_file(engine: sa.Engine, path: Path) -> ImportSummary:
    """Validate `path` completely, then write it in one transaction (all or nothing)."""
    parsed = parse_registry_file(path)
    with engine.begin() as conn:
        return import_registry(conn, parsed, str(path))
