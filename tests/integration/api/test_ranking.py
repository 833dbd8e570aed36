"""The regulator's ranking: open alerts counted per enterprise whatever else its alerts hold,
a page that tells the region's total, completeness over every boundary point, and the API's
sessions without JIT."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from energywatch.settings import Settings
from energywatch.storage.alerting_tables import alerts
from energywatch.storage.engine import make_engine
from tests.integration.api.conftest import login
from tests.integration.api.world import World
from tests.support.clock import local_yesterday

# (site, state, severity) beside the world's one firing warning per site
EXTRA_ALERTS = [
    ("A1", "pending", "critical"),
    ("A1", "firing", "critical"),
    ("A1", "firing", "info"),
    ("A1", "resolved", "critical"),
    ("A1", "cancelled", "critical"),
    ("A2", "pending", "warning"),
    ("A2", "resolved", "critical"),
    ("A2", "cancelled", "critical"),
]


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return login(client, "admin")


@pytest.fixture
def alerts_of_every_state(world: World, api_settings: Settings) -> None:
    engine = make_engine(api_settings.database.url, pool_size=1)
    try:
        with engine.begin() as conn:
            for k, (site, state, severity) in enumerate(EXTRA_ALERTS):
                closed = state in ("resolved", "cancelled")
                conn.execute(
                    alerts.insert().values(
                        rule=f"extra.{k}",
                        kind="energy",
                        subject=f"site:{site}",
                        site_id=world.site_ids[site],
                        state=state,
                        severity=severity,
                        started_at=world.now - timedelta(hours=2),
                        fired_at=None if state == "pending" else world.now - timedelta(hours=1),
                        resolved_at=world.now - timedelta(minutes=5) if closed else None,
                    )
                )
            # B1's only alert ends: an enterprise with closed alerts only
            conn.execute(
                alerts.update()
                .where(alerts.c.id == world.alert_ids["B1"])
                .values(state="resolved", resolved_at=world.now - timedelta(minutes=1))
            )
    finally:
        engine.dispose()


def ranking(client: TestClient, headers: dict[str, str], world: World, **params: str | int) -> dict:
    day = str(local_yesterday(world.now))
    r = client.get(
        "/api/v1/regions/14/ranking",
        headers=headers,
        params={"period": "day", "day": day, **params},
    )
    assert r.status_code == 200, r.text
    body: dict = r.json()
    return body


@pytest.mark.usefixtures("alerts_of_every_state")
def test_open_alerts_are_counted_per_enterprise_whatever_their_state(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    got = ranking(client, admin, world, by="breaches")
    counts = {
        i["site"]: (i["open_alerts"], i["firing_alerts"], i["max_severity"]) for i in got["items"]
    }
    # A1: the world's firing warning, a pending critical, a firing critical and a firing info;
    # A2: the world's firing warning and a pending warning (a resolved critical does not
    # raise its severity); B1: nothing open.
    assert counts == {"A1": (4, 3, "critical"), "A2": (2, 1, "warning"), "B1": (0, 0, None)}
    assert [i["site"] for i in got["items"]] == ["A1", "A2", "B1"]


@pytest.mark.usefixtures("alerts_of_every_state")
def test_a_page_tells_the_regions_total(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    page = ranking(client, admin, world, by="breaches", limit=1, offset=1)
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    assert [(i["site"], i["open_alerts"]) for i in page["items"]] == [("A2", 2)]
    past_the_end = ranking(client, admin, world, by="breaches", limit=2, offset=5)
    assert (past_the_end["total"], past_the_end["items"]) == (3, [])
    reg_a = login(client, "reg_a")
    mine = client.get(
        "/api/v1/regions/1401/ranking", headers=reg_a, params={"limit": 1, "by": "tce"}
    ).json()
    assert mine["total"] == 2 and len(mine["items"]) == 1


def test_completeness_counts_boundary_points_without_data(
    client: TestClient, world: World, admin: dict[str, str], api_settings: Settings
) -> None:
    day = local_yesterday(world.now)
    before = {i["site"]: i for i in ranking(client, admin, world, by="tce")["items"]}
    engine = make_engine(api_settings.database.url, pool_size=1)
    try:
        with engine.begin() as conn:
            # A1's coal feed loses its day: the site's completeness falls by its share
            n_boundary = conn.execute(
                sa.text("SELECT count(*) FROM points WHERE site_id = :s AND balance_sign <> 0"),
                {"s": world.site_ids["A1"]},
            ).scalar_one()
            removed = conn.execute(
                sa.text(
                    "DELETE FROM consumption_daily WHERE point_id = :p AND day = :d"
                    " RETURNING completeness"
                ),
                {"p": world.point_ids[("A1", "C01")], "d": day},
            ).scalar_one()
    finally:
        engine.dispose()
    after = {i["site"]: i for i in ranking(client, admin, world, by="tce")["items"]}
    assert n_boundary >= 2 and removed > 0
    assert after["A1"]["completeness"] == pytest.approx(
        before["A1"]["completeness"] - removed / n_boundary
    )
    assert after["A2"]["completeness"] == pytest.approx(before["A2"]["completeness"])


def test_the_apis_sessions_do_not_compile_statements(api_app: FastAPI, client: TestClient) -> None:
    # A regional statement is estimated far above jit_above_cost; compiling it cost more
    # than running it (services/api/app.py).
    with api_app.state.engine.connect() as conn:
        assert conn.execute(sa.text("SHOW jit")).scalar_one() == "off"
