"""What the endpoints answer, against the real database: registry, readings, series,
reports, alerts, silences and rules, with their audit entries."""

from __future__ import annotations

import csv
import io
import itertools
import math
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from energywatch.core.budget import DEFAULT_MIN_COVERED
from energywatch.settings import Settings
from energywatch.storage.engine import make_engine
from tests.integration.api.conftest import login
from tests.integration.api.world import World
from tests.support.clock import SITE_TZ, at_instants, local_day, local_yesterday


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return login(client, "admin")


def test_pagination_and_problem_documents(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    page = client.get("/api/v1/sites", params={"limit": 2, "offset": 1}, headers=admin).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)
    assert [s["code"] for s in page["items"]] == ["A2", "B1"]
    bad = client.get("/api/v1/sites", params={"limit": 0}, headers=admin)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    body = bad.json()
    assert body["title"] == "Unprocessable Entity" and body["errors"][0]["loc"] == [
        "query",
        "limit",
    ]
    naive = client.get(
        "/api/v1/sites/A1/points/E01/readings",
        headers=admin,
        params={"start": "2026-01-01T00:00:00", "end": "2026-01-02T00:00:00"},
    )
    assert naive.status_code == 422


@at_instants
def test_readings_raw_and_bucketed(client: TestClient, world: World, admin: dict[str, str]) -> None:
    start = (world.now - timedelta(hours=1)).isoformat()
    end = world.now.isoformat()
    raw = client.get(
        "/api/v1/sites/A1/points/E01/readings", headers=admin, params={"start": start, "end": end}
    ).json()
    assert raw["unit"] == "kWh" and len(raw["items"]) == 12  # every 5 minutes
    values = [i["v"] for i in raw["items"]]
    assert values == sorted(values) and raw["items"][0]["q"] == 0
    hourly = client.get(
        "/api/v1/sites/A1/points/E01/readings",
        headers=admin,
        params={"start": start, "end": end, "bucket": "15m", "agg": "max"},
    ).json()
    assert max(i["v"] for i in hourly["items"]) == max(values)
    assert all(i["q"] is None for i in hourly["items"])
    count = client.get(
        "/api/v1/sites/A1/points/E01/readings",
        headers=admin,
        params={"start": start, "end": end, "bucket": "1h", "agg": "count"},
    ).json()
    assert sum(i["v"] for i in count["items"]) == 12


@at_instants
def test_live_view_has_series_totals_and_alerts(client: TestClient, world: World) -> None:
    live = client.get("/api/v1/sites/A1/live", headers=login(client, "op_a1")).json()
    points = {p["code"]: p for p in live["points"]}
    assert set(points) == {"E01", "C01", "P01", "W01"}
    assert points["W01"]["series"][-1][1] == pytest.approx(600.0)
    assert points["C01"]["series"][-1][1] == pytest.approx(0.05)  # interval: summed
    assert 280 <= len(points["W01"]["series"]) <= 290
    assert points["E01"]["last"]["v"] > 1000
    # Today is the site's local day: just after its midnight no quarter-hour has closed yet.
    midnight = datetime.combine(date.fromisoformat(live["day"]), time(0), SITE_TZ)
    quarters = math.ceil((world.now - midnight) / timedelta(minutes=15))
    measures = {m["measure"]: m["tce"] for m in live["today"]["by_measure"]}
    expected = {"electricity": 30 * 0.0001229, "raw_coal": 0.15 * 0.7143}  # output is not use
    assert measures == pytest.approx(
        {k: quarters * v for k, v in expected.items()} if quarters else {}
    )
    assert live["today"]["tce"] == pytest.approx(sum(measures.values()))
    assert [a["rule"] for a in live["alerts"]] == ["energy.A1"]


@at_instants
def test_live_buckets_aggregate_each_point_by_its_kind(client: TestClient, world: World) -> None:
    live = client.get(
        "/api/v1/sites/A1/live",
        headers=login(client, "op_a1"),
        params={"hours": 6, "bucket": "15m"},
    ).json()
    series = {p["code"]: p["series"] for p in live["points"]}
    for points in series.values():
        times = [t for t, _ in points]
        assert times == sorted(times) and len(set(times)) == len(times)
    # readings every 5 minutes: three to a full 15-minute bucket (the last may be partial)
    assert [v for _, v in series["C01"][1:-1]] == pytest.approx([0.15] * (len(series["C01"]) - 2))
    w01 = [v for _, v in series["W01"]]
    assert w01 == pytest.approx([600.0] * len(w01))  # instantaneous: the mean, not the sum
    # a register rising 50 per 5 minutes: the highest of each bucket, 150 apart
    steps = [b[1] - a[1] for a, b in itertools.pairwise(series["E01"][:-1])]
    assert steps == pytest.approx([150.0] * len(steps))


@at_instants
def test_consumption_series_and_completeness(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    start = world.now - timedelta(hours=2)
    start = start.replace(minute=0)
    end = start + timedelta(hours=1)
    series = client.get(
        "/api/v1/sites/A1/consumption",
        headers=admin,
        params={
            "start": start.isoformat(),
            "end": end.isoformat(),
            "granularity": "hour",
            "group": "measure",
        },
    ).json()
    items = {i["key"]: i for i in series["items"]}
    assert items["electricity"]["quantity"] == pytest.approx(4 * 30.0)
    assert items["raw_coal"]["tce"] == pytest.approx(4 * 0.15 * 0.7143)
    assert items["electricity"]["completeness"] == pytest.approx(1.0)
    site = client.get(
        "/api/v1/sites/A1/consumption",
        headers=admin,
        params={
            "start": start.isoformat(),
            "end": end.isoformat(),
            "granularity": "15min",
            "group": "site",
        },
    ).json()
    assert len(site["items"]) == 4 and site["items"][0]["quantity"] is None
    day = local_yesterday(world.now)  # wholly inside the world's two days, at any hour
    done = client.get(
        "/api/v1/sites/A1/completeness",
        headers=admin,
        params={"start_day": str(day), "end_day": str(day + timedelta(days=5))},
    ).json()
    by_key = {(i["point"], i["day"]): i["completeness"] for i in done["items"]}
    assert by_key[("E01", str(day))] == pytest.approx(1.0)
    assert by_key[("E01", str(day + timedelta(days=5)))] == 0.0  # the future is empty
    assert by_key[("W01", str(day))] == 0.0  # power has no rollup


@at_instants
def test_intensity_and_budget(client: TestClient, world: World, admin: dict[str, str]) -> None:
    got = client.get("/api/v1/sites/A1/intensity", headers=admin, params={"window_hours": 6}).json()
    [coke] = got["indicators"]
    assert coke["product"] == "coke_top_charged" and coke["levels"]["level3"] == 135
    expected = 1000 * (30 * 0.0001229 + 0.15 * 0.7143) / 1.2
    assert coke["series"][-1][1] == pytest.approx(expected)
    budget = client.get("/api/v1/sites/A1/budget", headers=admin).json()
    energy = budget["energy"]
    assert energy["budget"] == 50_000
    assert energy["share_used"] == pytest.approx(energy["ytd"] / 50_000)
    # the projection extrapolates the span the data cover, not the year so far
    assert 0 <= budget["covered"] <= budget["elapsed"]
    if budget["covered"] < DEFAULT_MIN_COVERED:  # the world holds less than a day of data
        assert energy["pace"] is None and energy["projection"] is None
    else:
        assert energy["pace"] == pytest.approx(energy["ytd"] / (50_000 * budget["covered"]))
        assert energy["projection"] == pytest.approx(energy["ytd"] / budget["covered"])
    assert sum(m["tce"] for m in budget["monthly"]) == pytest.approx(energy["ytd"])


@at_instants
def test_reports_as_csv_and_xlsx(client: TestClient, world: World, admin: dict[str, str]) -> None:
    day = str(local_yesterday(world.now))
    r = client.get("/api/v1/reports/sites/A1/daily", headers=admin, params={"day": day})
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    by_point = {row["point"]: row for row in rows}
    assert float(by_point["E01"]["quantity"]) == pytest.approx(96 * 30.0)
    assert float(by_point["TOTAL"]["tce"]) == pytest.approx(
        float(by_point["E01"]["tce"]) + float(by_point["C01"]["tce"]), rel=1e-5
    )
    month = local_day(world.now).strftime("%Y-%m")
    x = client.get(
        "/api/v1/reports/regions/1401/monthly",
        headers=login(client, "reg_a"),
        params={"month": month, "format": "xlsx"},
    )
    assert x.status_code == 200
    sheet = load_workbook(io.BytesIO(x.content)).active
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert table[0][:2] == ["site", "name"]
    assert [row[0] for row in table[1:]] == ["A1", "A2", "TOTAL"]  # never B1
    assert table[-1][4] == pytest.approx(table[1][4] + table[2][4])
    assert (
        client.get(
            "/api/v1/reports/sites/A1/monthly", headers=admin, params={"month": "2026-13"}
        ).status_code
        == 422
    )


def test_acknowledge_is_stored_with_its_transition_and_audited(
    client: TestClient, world: World
) -> None:
    reg = login(client, "reg_a")
    alert_id = world.alert_ids["A2"]
    acked = client.post(
        f"/api/v1/alerts/{alert_id}/ack", json={"comment": "crew sent"}, headers=reg
    ).json()
    assert (acked["acknowledged_by"], acked["ack_comment"]) == ("reg_a", "crew sent")
    detail = client.get(f"/api/v1/alerts/{alert_id}", headers=reg).json()
    assert detail["transitions"][-1]["evidence"] == {
        "event": "acknowledged",
        "by": "reg_a",
        "comment": "crew sent",
    }
    audit = client.get(
        "/api/v1/audit", params={"action": "alert.ack"}, headers=login(client, "admin")
    ).json()["items"]
    assert [(e["username"], e["target"]) for e in audit] == [("reg_a", str(alert_id))]
    open_ = client.get("/api/v1/alerts", params={"state": "open"}, headers=reg).json()
    assert {a["site"] for a in open_["items"]} == {"A1", "A2"}


@at_instants
def test_silences_follow_scope(client: TestClient, world: World) -> None:
    op = login(client, "op_a1")
    span = {
        "starts_at": world.now.isoformat(),
        "ends_at": (world.now + timedelta(hours=2)).isoformat(),
    }
    made = client.post(
        "/api/v1/silences", json={"site": "A1", "rule": "energy.A1", **span}, headers=op
    )
    assert made.status_code == 201
    assert made.json()["matchers"] == {"site": "A1", "rule": "energy.A1"}
    assert client.post("/api/v1/silences", json=span, headers=op).status_code == 403
    assert client.post(
        "/api/v1/silences", json={"region": "1401", **span}, headers=op
    ).status_code in (403, 404)
    reg = login(client, "reg_a")
    assert (
        client.post("/api/v1/silences", json={"region": "140105", **span}, headers=reg).status_code
        == 201
    )
    listed = client.get("/api/v1/silences", headers=op).json()
    assert sorted(s["matchers"].get("site", "-") for s in listed["items"]) == ["A1", "A1"]
    reversed_span = {"starts_at": span["ends_at"], "ends_at": span["starts_at"]}
    assert (
        client.post(
            "/api/v1/silences", json={"site": "A1", **reversed_span}, headers=op
        ).status_code
        == 422
    )
    assert client.delete(f"/api/v1/silences/{made.json()['id']}", headers=op).status_code == 204


def _rule(name: str, **select: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "energy",
        "select": select,
        "window": "24h",
        "thresholds": {"warning": 150, "critical": 180},
        "clear": 140,
    }


def test_rules_crud_validated_and_scoped(client: TestClient, world: World) -> None:
    reg = login(client, "reg_a")
    made = client.post("/api/v1/rules", json=_rule("energy.1401", region="1401"), headers=reg)
    assert made.status_code == 201, made.text
    assert made.json()["definition"]["window"] == "1d"
    assert (
        client.post(
            "/api/v1/rules", json=_rule("energy.1401", region="1401"), headers=reg
        ).status_code
        == 409
    )
    bad = client.post(
        "/api/v1/rules", json={**_rule("bad.rule", region="1401"), "clear": 999}, headers=reg
    )
    assert bad.status_code == 422 and "clear" in bad.json()["detail"]
    unknown_kind = client.post(
        "/api/v1/rules", json={**_rule("k", region="1401"), "kind": "x"}, headers=reg
    )
    assert unknown_kind.status_code == 422 and "kind" in unknown_kind.json()["detail"]
    assert client.post("/api/v1/rules", json=_rule("fleet"), headers=reg).status_code == 403
    assert (
        client.post(
            "/api/v1/rules", json=_rule("energy.op", sites=["A1"]), headers=login(client, "op_a1")
        ).status_code
        == 403
    )
    updated = client.put(
        "/api/v1/rules/energy.1401",
        json={**_rule("ignored", region="140105"), "enabled": False},
        headers=reg,
    )
    assert updated.status_code == 200
    assert updated.json()["enabled"] is False and updated.json()["name"] == "energy.1401"
    # the operator of A1 (in 140105) sees the region's rule; B1's regulator does not
    assert (
        client.get("/api/v1/rules/energy.1401", headers=login(client, "op_a1")).status_code == 200
    )
    assert (
        client.get("/api/v1/rules/energy.1401", headers=login(client, "reg_b")).status_code == 404
    )
    assert client.delete("/api/v1/rules/energy.1401", headers=reg).status_code == 204
    actions = [
        e["action"]
        for e in client.get(
            "/api/v1/audit", headers=login(client, "admin"), params={"username": "reg_a"}
        ).json()["items"]
    ]
    assert {"rule.create", "rule.update", "rule.delete"} <= set(actions)


def test_admin_changes_budgets_and_imports_the_registry(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    changed = client.patch("/api/v1/sites/A1", json={"energy_budget_tce": 42_000}, headers=admin)
    assert changed.json()["energy_budget_tce"] == 42_000
    document = """
sites:
  - code: NEW-01
    name: New works
    kind: enterprise
    division_code: "140107"
    credit_code: 91140100MA0GRQ5H1C
    industry: cement
    devices:
      - code: GW1
        points:
          - {code: E01, measure: electricity, unit: kWh, kind: cumulative}
"""
    r = client.post(
        "/api/v1/registry", content=document, headers={**admin, "Content-Type": "application/yaml"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"sites": 1, "devices": 1, "points": 1}
    reg = login(client, "reg_a")
    assert client.get("/api/v1/sites/NEW-01/points", headers=reg).json()["total"] == 1
    refused = client.post(
        "/api/v1/registry",
        content="sites: [{code: X}]",
        headers={**admin, "Content-Type": "application/yaml"},
    )
    assert refused.status_code == 422 and refused.json()["problems"]
    for garbage in (b"\xff\xfe\x00not text", b"- a\n- b", b"sites: 5", b": : :", b""):
        r = client.post(
            "/api/v1/registry",
            content=garbage,
            headers={**admin, "Content-Type": "application/yaml"},
        )
        assert r.status_code == 422, (garbage, r.text)


def test_health_metrics_and_dashboard(client: TestClient, world: World, metrics_url: str) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    client.get("/api/v1/sites", headers=login(client, "admin"))
    # Metrics are on their own port; the API's port has none for anyone, signed in or not.
    for headers in ({}, login(client, "admin")):
        on_api_port = client.get("/metrics", headers=headers)
        assert on_api_port.status_code == 404 and "energywatch_api" not in on_api_port.text
    metrics = httpx.get(metrics_url).text
    assert 'energywatch_api_requests_total{method="GET",route="/api/v1/sites",status="200"}' in (
        metrics
    )
    assert 'energywatch_api_logins_total{outcome="ok"}' in metrics
    index = client.get("/")
    assert index.status_code == 200 and "<html" in index.text.lower()
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_database_down_answers_503() -> None:
    from energywatch.settings import DatabaseSettings, Settings
    from services.api.app import create_app
    from services.demo.broker import free_port

    down = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    with TestClient(create_app(Settings(demo=True, database=DatabaseSettings(url=down)))) as c:
        health = c.get("/healthz")
        assert health.status_code == 503
        assert health.json()["detail"] == "database unreachable"
        r = c.get("/api/v1/sites", headers={"Authorization": "Bearer x.y.z"})
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert r.headers["content-type"] == "application/problem+json"


@at_instants
def test_ranking_uses_each_products_own_indicator(
    client: TestClient, world: World, admin: dict[str, str], api_settings: Settings
) -> None:
    # Aluminium's limit is set in kWh per tonne, coke's in kgce per tonne.
    engine = make_engine(api_settings.database.url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE points SET product = 'electrolytic_aluminium' WHERE id = :p"),
                {"p": world.point_ids[("A2", "P01")]},
            )
    finally:
        engine.dispose()
    day = str(local_yesterday(world.now))
    got = client.get(
        "/api/v1/regions/1401/ranking",
        headers=admin,
        params={"period": "day", "day": day, "by": "tce"},
    ).json()
    by_site = {item["site"]: item for item in got["items"]}
    assert by_site["A2"]["intensity_unit"] == "kWh/t"
    assert by_site["A2"]["intensity"] == pytest.approx(30.0 / 1.2)
    assert by_site["A1"]["intensity_unit"] == "kgce/t"
    coke = 1000 * (30 * 0.0001229 + 0.15 * 0.7143) / 1.2
    assert by_site["A1"]["intensity"] == pytest.approx(coke)
