"""The registry: sites, devices, points; admin changes to budgets and registry imports."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request

from energywatch.storage.tables import devices, points, process_units, readings, sites
from services.api import audit
from services.api.deps import (
    AdminUser,
    ClientDep,
    ConnDep,
    CurrentUser,
    PageDep,
    ScopedSite,
    lookup_site,
)
from services.api.problems import PROBLEM_RESPONSES, ProblemError, not_found
from services.api.schemas.common import Page
from services.api.schemas.sites import (
    DevicePublic,
    PointDetail,
    PointPublic,
    ReadingPublic,
    RegistryImported,
    SitePublic,
    SiteUpdate,
)
from services.api.scope import site_in_scope

router = APIRouter(tags=["registry"], responses=PROBLEM_RESPONSES)

POINT_CODE = Path(description="point code", min_length=1, max_length=100)

_n_devices = sa.select(sa.func.count()).where(devices.c.site_id == sites.c.id).scalar_subquery()
_n_points = sa.select(sa.func.count()).where(points.c.site_id == sites.c.id).scalar_subquery()


def _site_public(conn: sa.Connection, site_id: int) -> SitePublic:
    row = (
        conn.execute(
            sa.select(sites, _n_devices.label("n_devices"), _n_points.label("n_points")).where(
                sites.c.id == site_id
            )
        )
        .mappings()
        .one()
    )
    return SitePublic.model_validate(dict(row))


@router.get("/sites", response_model=Page[SitePublic])
def list_sites(
    user: CurrentUser,
    conn: ConnDep,
    page: PageDep,
    kind: Annotated[str | None, Query(pattern="^(enterprise|station)$")] = None,
    division: Annotated[str | None, Query(pattern="^[0-9]{1,6}$")] = None,
    industry: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=100, description="part of code or name")] = None,
) -> Page[SitePublic]:
    where = [site_in_scope(user)]
    if kind:
        where.append(sites.c.kind == kind)
    if division:
        where.append(sites.c.division_code.startswith(division, autoescape=True))
    if industry:
        where.append(sites.c.industry == industry)
    if q:
        where.append(
            sa.or_(
                sites.c.code.contains(q, autoescape=True), sites.c.name.contains(q, autoescape=True)
            )
        )
    total = conn.execute(sa.select(sa.func.count()).select_from(sites).where(*where)).scalar_one()
    rows = (
        conn.execute(
            sa.select(sites, _n_devices.label("n_devices"), _n_points.label("n_points"))
            .where(*where)
            .order_by(sites.c.code)
            .limit(page.limit)
            .offset(page.offset)
        )
        .mappings()
        .all()
    )
    return Page(
        items=[SitePublic.model_validate(dict(r)) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/sites/{site}", response_model=SitePublic)
def get_site(site: ScopedSite, conn: ConnDep) -> SitePublic:
    return _site_public(conn, site.id)


@router.patch("/sites/{site}", response_model=SitePublic)
def update_site(
    site: Annotated[str, Path(min_length=1, max_length=100)],
    body: SiteUpdate,
    admin: AdminUser,
    conn: ConnDep,
    client: ClientDep,
) -> SitePublic:
    found = lookup_site(conn, admin, site)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name") is None:
        changes.pop("name", None)
    if changes:
        try:
            with conn.begin_nested():
                conn.execute(sites.update().where(sites.c.id == found.id).values(**changes))
        except sa.exc.IntegrityError as exc:
            raise ProblemError(422, "unknown factor_set") from exc
        audit.record(
            conn, "site.update", username=admin.username, target=site, detail=changes, client=client
        )
    return _site_public(conn, found.id)


@router.post(
    "/registry",
    response_model=RegistryImported,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/yaml": {"schema": {"type": "string"}}},
        }
    },
)
async def import_registry(
    request: Request, admin: AdminUser, client: ClientDep
) -> RegistryImported:
    from energywatch.errors import RegistryError
    from energywatch.storage.registry import import_registry as write_registry
    from energywatch.storage.registry_files import parse_registry_file

    body = await request.body()
    if len(body) > 10_000_000:
        raise ProblemError(413, "registry document larger than 10 MB")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemError(422, "registry refused: the document is not UTF-8 text") from exc
    with tempfile.TemporaryDirectory() as tmp:
        path = FilePath(tmp) / "registry.yaml"
        path.write_bytes(body)
        try:
            parsed = parse_registry_file(path)
        except RegistryError as exc:
            raise ProblemError(
                422,
                "registry refused",
                extra={"problems": [str(p).replace(str(path), "request") for p in exc.problems]},
            ) from exc
    engine: sa.Engine = request.app.state.engine
    try:
        with engine.begin() as conn:
            summary = write_registry(conn, parsed, "request")
            audit.record(
                conn,
                "registry.import",
                username=admin.username,
                client=client,
                detail={
                    "sites": summary.sites,
                    "devices": summary.devices,
                    "points": summary.points,
                },
            )
    except RegistryError as exc:
        raise ProblemError(
            422, "registry refused", extra={"problems": [str(p) for p in exc.problems]}
        ) from exc
    except sa.exc.IntegrityError as exc:
        raise ProblemError(422, "registry refused: it conflicts with stored rows") from exc
    return RegistryImported(sites=summary.sites, devices=summary.devices, points=summary.points)


@router.get("/sites/{site}/devices", response_model=Page[DevicePublic])
def list_devices(site: ScopedSite, conn: ConnDep, page: PageDep) -> Page[DevicePublic]:
    where = devices.c.site_id == site.id
    total = conn.execute(sa.select(sa.func.count()).select_from(devices).where(where)).scalar_one()
    n_points = sa.select(sa.func.count()).where(points.c.device_id == devices.c.id)
    rows = (
        conn.execute(
            sa.select(devices, n_points.scalar_subquery().label("n_points"))
            .where(where)
            .order_by(devices.c.code)
            .limit(page.limit)
            .offset(page.offset)
        )
        .mappings()
        .all()
    )
    return Page(
        items=[DevicePublic.model_validate(dict(r)) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


_point_columns = (
    points.c.id,
    points.c.code,
    points.c.name,
    devices.c.code.label("device"),
    points.c.measure,
    points.c.unit,
    points.c.kind,
    points.c.metering_level,
    points.c.rollover,
    points.c.scale,
    points.c.role,
    points.c.product,
    process_units.c.code.label("process_unit"),
)


@router.get("/sites/{site}/points", response_model=Page[PointPublic])
def list_points(
    site: ScopedSite,
    conn: ConnDep,
    page: PageDep,
    measure: Annotated[str | None, Query(max_length=100)] = None,
    role: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[PointPublic]:
    where = [points.c.site_id == site.id]
    if measure:
        where.append(points.c.measure == measure)
    if role:
        where.append(points.c.role == role)
    total = conn.execute(sa.select(sa.func.count()).select_from(points).where(*where)).scalar_one()
    rows = (
        conn.execute(
            sa.select(*_point_columns)
            .join(devices, devices.c.id == points.c.device_id)
            .outerjoin(process_units, process_units.c.id == points.c.process_unit_id)
            .where(*where)
            .order_by(points.c.code)
            .limit(page.limit)
            .offset(page.offset)
        )
        .mappings()
        .all()
    )
    return Page(
        items=[PointPublic.model_validate(dict(r)) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


def lookup_point(conn: sa.Connection, site_id: int, code: str) -> dict[str, object]:
    row = (
        conn.execute(
            sa.select(*_point_columns)
            .join(devices, devices.c.id == points.c.device_id)
            .outerjoin(process_units, process_units.c.id == points.c.process_unit_id)
            .where(points.c.site_id == site_id, points.c.code == code)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise not_found(f"point {code}")
    return dict(row)


@router.get("/sites/{site}/points/{point}", response_model=PointDetail)
def get_point(site: ScopedSite, point: Annotated[str, POINT_CODE], conn: ConnDep) -> PointDetail:
    row = lookup_point(conn, site.id, point)
    last = (
        conn.execute(
            sa.select(readings.c.ts, readings.c.value.label("v"), readings.c.quality.label("q"))
            .where(readings.c.point_id == row["id"])
            .order_by(readings.c.ts.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return PointDetail.model_validate(
        {**row, "last": ReadingPublic.model_validate(dict(last)) if last else None}
    )
