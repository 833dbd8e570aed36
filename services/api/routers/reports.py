"""Daily and monthly energy and carbon reports, per enterprise and per region: CSV, XLSX, JSON."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from services.api.clock import day_range, month_range, next_month, parse_month
from services.api.deps import ConnDep, CurrentUser, ScopedRegion, ScopedSite
from services.api.export import CSV_TYPE, XLSX_TYPE, Table, to_csv, to_xlsx
from services.api.problems import PROBLEM_RESPONSES, ProblemError
from services.api.queries.reports import (
    non_fossil_tce,
    region_sites,
    site_day_by_point,
    site_month_by_day,
)

router = APIRouter(tags=["reports"], responses=PROBLEM_RESPONSES)

Format = Literal["csv", "xlsx", "json"]
MONTH = Query(pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM")
_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, XLSX_TYPE: {}, "application/json": {}}}
}


def month_param(text: str) -> date:
    try:
        month = parse_month(text)
    except ValueError as exc:
        raise ProblemError(422, str(exc)) from exc
    if not 2000 <= month.year <= 2100:
        raise ProblemError(422, "month out of range")
    return month


def _day(day: date) -> date:
    if not 2000 <= day.year <= 2100:
        raise ProblemError(422, "day out of range")
    return day


def render(table: Table, fmt: Format, filename: str) -> Response:
    if fmt == "json":
        return JSONResponse(
            {
                "title": table.title,
                "columns": list(table.columns),
                "rows": [[_json(v) for v in row] for row in table.rows],
            }
        )
    body, media = (to_csv(table), CSV_TYPE) if fmt == "csv" else (to_xlsx(table), XLSX_TYPE)
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'},
    )


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


SITE_DAY_COLUMNS = (
    "point",
    "name",
    "measure",
    "unit",
    "role",
    "quantity",
    "tce",
    "tco2",
    "completeness",
    # of which non-fossil (docs/computation.md, "Non-fossil electricity"): the point's kind and
    # tce; on the TOTAL row, net of the electricity exported (queries/reports.non_fossil_tce)
    "non_fossil",
    "non_fossil_tce",
)


@router.get("/reports/sites/{site}/daily", response_class=Response, responses=_FILE_RESPONSES)
def site_daily(site: ScopedSite, conn: ConnDep, day: date, format: Format = "csv") -> Response:
    rows = site_day_by_point(conn, site.id, *day_range(_day(day), site.timezone))
    body = [
        [*(r[c] for c in SITE_DAY_COLUMNS[:-1]), r["tce"] if r["non_fossil"] else None]
        for r in rows
    ]
    # The site's comprehensive consumption: level-1 inputs less exports (GB/T 2589-2020; see
    # energywatch/storage/balance.py), never the sub-meters, which the level-1 meters include.
    body.append(
        [
            "TOTAL",
            "",
            "",
            "",
            "consumption",
            None,
            sum(r["tce"] * r["balance_sign"] for r in rows),
            sum(r["tco2"] * r["balance_sign"] for r in rows),
            None,
            "",
            non_fossil_tce(rows),
        ]
    )
    return render(
        Table(f"{site.code} {day}", SITE_DAY_COLUMNS, body),
        format,
        f"energywatch-{site.code}-{day}",
    )


SITE_MONTH_COLUMNS = (
    "day",
    "measure",
    "unit",
    "role",
    "quantity",
    "tce",
    "tco2",
    "completeness",
    "non_fossil_tce",
)


@router.get("/reports/sites/{site}/monthly", response_class=Response, responses=_FILE_RESPONSES)
def site_monthly(
    site: ScopedSite, conn: ConnDep, month: Annotated[str, MONTH], format: Format = "csv"
) -> Response:
    first = month_param(month)
    rows = site_month_by_day(conn, site.id, site.timezone, *month_range(first, site.timezone))
    body: list[list[Any]] = [[r[c] for c in SITE_MONTH_COLUMNS] for r in rows]
    totals: dict[tuple[str, str, str], list[float]] = {}
    for r in rows:
        acc = totals.setdefault((r["measure"], r["unit"], r["role"]), [0.0, 0.0, 0.0, 0.0])
        acc[0] += r["quantity"]
        acc[1] += r["tce"]
        acc[2] += r["tco2"]
        acc[3] += r["non_fossil_tce"] or 0.0
    for (measure, unit, role), (qty, tce, tco2, non_fossil) in sorted(totals.items()):
        carries = role == "consumption" and measure == "electricity"
        body.append(
            ["TOTAL", measure, unit, role, qty, tce, tco2, None, non_fossil if carries else None]
        )
    return render(
        Table(f"{site.code} {month}", SITE_MONTH_COLUMNS, body),
        format,
        f"energywatch-{site.code}-{month}",
    )


REGION_COLUMNS = (
    "site",
    "name",
    "industry",
    "division_code",
    "tce",
    "tco2",
    "completeness",
    "output_t",
    "intensity",
    "intensity_unit",
    "budget_pace",
    "open_alerts",
)


def _region_report(
    conn: Any, user: Any, division: str, first: date, end: date, fmt: Format, label: str
) -> Response:
    rows, _ = region_sites(conn, user, division, first, end, order="code", limit=None)
    body = [[r[c] for c in REGION_COLUMNS] for r in rows]
    body.append(
        [
            "TOTAL",
            "",
            "",
            division,
            sum(r["tce"] for r in rows),
            sum(r["tco2"] for r in rows),
            None,
            None,
            None,
            None,
            None,
            sum(r["open_alerts"] for r in rows),
        ]
    )
    return render(
        Table(f"{division} {label}", REGION_COLUMNS, body),
        fmt,
        f"energywatch-region-{division}-{label}",
    )


@router.get("/reports/regions/{division}/daily", response_class=Response, responses=_FILE_RESPONSES)
def region_daily(
    division: ScopedRegion, user: CurrentUser, conn: ConnDep, day: date, format: Format = "csv"
) -> Response:
    first = _day(day)
    return _region_report(
        conn,
        user,
        division,
        first,
        date.fromordinal(first.toordinal() + 1),
        format,
        first.isoformat(),
    )


@router.get(
    "/reports/regions/{division}/monthly", response_class=Response, responses=_FILE_RESPONSES
)
def region_monthly(
    division: ScopedRegion,
    user: CurrentUser,
    conn: ConnDep,
    month: Annotated[str, MONTH],
    format: Format = "csv",
) -> Response:
    first = month_param(month)
    return _region_report(conn, user, division, first, next_month(first), format, month)
