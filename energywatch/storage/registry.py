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
from energywatch.storage.registry_model import DeviceSpec, PointSpec, SiteSpec
from energywatch.storage.registry_units import point_unit_problem


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
    return site.model_dump(exclude={"devices", "units"})


def _write_units(conn: sa.Connection, site_id: int, site: SiteSpec) -> dict[str, int]:
    """Upsert the site's units, then link parents (validated acyclic); ids by code."""
    ids = {
        u.code: _upsert(
            conn,
            t.process_units,
            ["site_id", "code"],
            {"site_id": site_id, "code": u.code, "name": u.name, "kind": u.kind},
        )
        for u in site.units
    }
    for u in site.units:
        conn.execute(
            t.process_units.update()
            .where(t.process_units.c.id == ids[u.code])
            .values(parent_id=ids[u.parent] if u.parent else None)
        )
    return ids


def _device_row(site_id: int, device: DeviceSpec) -> dict[str, Any]:
    row = device.model_dump(exclude={"points", "password"})
    row["site_id"] = site_id
    if device.password is not None:
        row["password_hash"] = hash_password(device.password)
    elif device.password_hash is None:
        row.pop("password_hash")  # keep a hash set earlier
    return row


def _point_row(
    site_id: int, device_id: int, point: PointSpec, unit_ids: dict[str, int]
) -> dict[str, Any]:
    row = point.model_dump(exclude={"process_unit"})
    row["process_unit_id"] = unit_ids[point.process_unit] if point.process_unit else None
    return {**row, "site_id": site_id, "device_id": device_id}


def _write_sites(conn: sa.Connection, sites: list[SiteSpec]) -> ImportSummary:
    n_devices = n_points = 0
    for site in sites:
        site_id = _upsert(conn, t.sites, ["code"], _site_row(site))
        unit_ids = _write_units(conn, site_id, site)
        for device in site.devices:
            device_id = _upsert(conn, t.devices, ["site_id", "code"], _device_row(site_id, device))
            n_devices += 1
            for point in device.points:
                row = _point_row(site_id, device_id, point, unit_ids)
                _upsert(conn, t.points, ["site_id", "code"], row)
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
    units: dict[int, dict[str, tuple[int, str]]] = {}
    for site_id, code, id_, kind in conn.execute(
        sa.select(
            t.process_units.c.site_id,
            t.process_units.c.code,
            t.process_units.c.id,
            t.process_units.c.kind,
        )
    ):
        units.setdefault(site_id, {})[code] = (id_, kind)
    misplaced = [
        Problem(file, r.line, "process_unit", problem)
        for r in rows
        if (
            problem := point_unit_problem(
                r.point,
                r.site,
                {c: kind for c, (_, kind) in units.get(site_ids[r.site], {}).items()},
            )
        )
    ]
    if misplaced:
        raise RegistryError(misplaced)
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
            _point_row(
                site_id,
                devices[(site_id, r.device)],
                r.point,
                {c: id_ for c, (id_, _) in units.get(site_id, {}).items()},
            ),
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
