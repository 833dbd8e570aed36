"""`energywatch registry import`: writes a validated registry file in one transaction.

A file is refused whole: every problem is reported with file, line and field, and the
database is left as it was. Importing the same file again updates in place (upsert by code).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from energywatch.errors import Problem, RegistryError
from energywatch.storage import tables as t
from energywatch.storage.passwords import MAX_CONCURRENT, hash_password
from energywatch.storage.registry_files import ParsedRegistry, PointRow, parse_registry_file
from energywatch.storage.registry_model import DeviceSpec, MeasuredFuelSpec, PointSpec, SiteSpec
from energywatch.storage.registry_units import point_unit_problem

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
    ON CONFLICT (point_id, bucket) DO UPDATE
       SET marked_at = least(dirty_buckets.marked_at, excluded.marked_at)
    """
)


# Buckets holding readings of the electricity points whose own renewable mark the file changes:
# the rollup converts own generation without CO2 (services/rollup/conversions.py), so their
# tCO2 is computed again. Run before the points are written, to see the marks they had.
_MARK_OWN_RENEWABLE_CHANGES = sa.text(
    """
    INSERT INTO dirty_buckets (point_id, bucket)
    SELECT DISTINCT r.point_id, date_bin('15 minutes', r.ts, TIMESTAMPTZ '2000-01-01 00:00+00')
      FROM unnest(CAST(:sites AS int[]), CAST(:codes AS text[]), CAST(:own AS bool[]))
             AS n(site_id, code, own)
      JOIN points p ON p.site_id = n.site_id AND p.code = n.code
      JOIN readings r ON r.point_id = p.id
     WHERE (p.non_fossil IS NOT DISTINCT FROM 'own_renewable') <> n.own
    ON CONFLICT (point_id, bucket) DO UPDATE
       SET marked_at = least(dirty_buckets.marked_at, excluded.marked_at)
    """
)


@dataclass(frozen=True)
class ImportSummary:
    sites: int
    devices: int
    points: int

    def __str__(self) -> str:
        return f"{self.sites} sites, {self.devices} devices, {self.points} points"


def _upsert_many(
    conn: sa.Connection, table: sa.Table, keys: list[str], rows: list[dict[str, Any]]
) -> dict[tuple[Any, ...], int]:
    """Insert or update `rows` by `keys`; the id of each row, by its key values.

    Rows are grouped by the columns they set (a device without a new password keeps its hash),
    and each group goes in multi-row statements: one round trip per row cost a province's
    import minutes. A file never names a key twice (registry_files refuses duplicates), which
    ON CONFLICT DO UPDATE needs within one statement."""
    ids: dict[tuple[Any, ...], int] = {}
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    returning = [table.c.id, *(table.c[k] for k in keys)]
    for columns, group in groups.items():
        stmt = insert(table)
        # Updating the key to itself when nothing else changes still lets RETURNING see it.
        updates = {c: stmt.excluded[c] for c in columns if c not in keys} or {
            keys[-1]: stmt.excluded[keys[-1]]
        }
        upsert = stmt.on_conflict_do_update(index_elements=keys, set_=updates)
        # executemany with RETURNING: SQLAlchemy batches it into multi-row statements
        # ("insertmanyvalues") from one compiled statement.
        for id_, *key in conn.execute(upsert.returning(*returning), group):
            ids[tuple(key)] = int(id_)
    return ids


def _site_row(site: SiteSpec) -> dict[str, Any]:
    return site.model_dump(exclude={"devices", "units", "measured_fuels"})


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


def _write_units(conn: sa.Connection, site_id: int, site: SiteSpec) -> dict[str, int]:
    """Upsert the site's units, then link parents (validated acyclic); ids by code."""
    rows = [
        {"site_id": site_id, "code": u.code, "name": u.name, "kind": u.kind} for u in site.units
    ]
    ids = {
        code: id_
        for (_, code), id_ in _upsert_many(conn, t.process_units, ["site_id", "code"], rows).items()
    }
    for u in site.units:
        conn.execute(
            t.process_units.update()
            .where(t.process_units.c.id == ids[u.code])
            .values(parent_id=ids[u.parent] if u.parent else None)
        )
    return ids


def _device_row(site_id: int, device: DeviceSpec, password_hash: str | None) -> dict[str, Any]:
    row = device.model_dump(exclude={"points", "password"})
    row["site_id"] = site_id
    if password_hash is not None:
        row["password_hash"] = password_hash
    elif device.password_hash is None:
        row.pop("password_hash")  # keep a hash set earlier
    return row


def _point_row(
    site_id: int, device_id: int, point: PointSpec, unit_ids: dict[str, int]
) -> dict[str, Any]:
    row = point.model_dump(exclude={"process_unit"})
    row["process_unit_id"] = unit_ids[point.process_unit] if point.process_unit else None
    return {**row, "site_id": site_id, "device_id": device_id}


def _write_points(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    electricity = [r for r in rows if r["measure"] == "electricity"]
    if electricity:
        conn.execute(
            _MARK_OWN_RENEWABLE_CHANGES,
            {
                "sites": [r["site_id"] for r in electricity],
                "codes": [r["code"] for r in electricity],
                "own": [r["non_fossil"] == "own_renewable" for r in electricity],
            },
        )
    _upsert_many(conn, t.points, ["site_id", "code"], rows)


def _password_hashes(devices: list[DeviceSpec]) -> list[str | None]:
    """Each device's new password hashed; Argon2 runs outside the GIL, so on as many threads as
    passwords.py lets hash at once (a province's 2,000 gateways: the longest step)."""
    with ThreadPoolExecutor(MAX_CONCURRENT) as pool:
        return list(
            pool.map(lambda d: None if d.password is None else hash_password(d.password), devices)
        )


def _write_sites(conn: sa.Connection, sites: list[SiteSpec]) -> ImportSummary:
    site_ids = _upsert_many(conn, t.sites, ["code"], [_site_row(s) for s in sites])
    unit_ids = {s.code: _write_units(conn, site_ids[(s.code,)], s) for s in sites}
    for s in sites:
        if s.measured_fuels is not None:
            _replace_measured_fuels(conn, site_ids[(s.code,)], s.measured_fuels)
    owned = [(s, site_ids[(s.code,)], d) for s in sites for d in s.devices]
    hashes = _password_hashes([d for _, _, d in owned])
    device_ids = _upsert_many(
        conn,
        t.devices,
        ["site_id", "code"],
        [_device_row(site_id, d, h) for (_, site_id, d), h in zip(owned, hashes, strict=True)],
    )
    point_rows = [
        _point_row(site_id, device_ids[(site_id, d.code)], p, unit_ids[s.code])
        for s, site_id, d in owned
        for p in d.points
    ]
    _write_points(conn, point_rows)
    return ImportSummary(len(sites), len(owned), len(point_rows))


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
    devices = {(site_ids[r.site], r.device) for r in rows}
    device_ids = _upsert_many(
        conn,
        t.devices,
        ["site_id", "code"],
        [{"site_id": site_id, "code": code} for site_id, code in sorted(devices)],
    )
    unit_ids = {
        site_id: {c: id_ for c, (id_, _) in found.items()} for site_id, found in units.items()
    }
    _write_points(
        conn,
        [
            _point_row(
                site_ids[r.site],
                device_ids[(site_ids[r.site], r.device)],
                r.point,
                unit_ids.get(site_ids[r.site], {}),
            )
            for r in rows
        ],
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
