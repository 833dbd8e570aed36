"""The regulator's inbox through the API, on the real database: which alerts it holds, the
severity filter and the counts per severity, the window each value was computed over."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from energywatch.storage.alerting_tables import alert_transitions, alerts
from energywatch.storage.engine import make_engine
from tests.integration.api.conftest import login
from tests.integration.api.world import World

# (name, site, state, severity, acknowledged, in the inbox). The world already has one firing
# warning per site (energy.A1, energy.A2, energy.B1), all in the inbox of their region.
CASES = (
    ("firing-info", "A1", "firing", "info", False, True),
    ("firing-critical-acked", "A1", "firing", "critical", True, True),
    ("pending-warning", "A1", "pending", "warning", False, False),
    ("cancelled-critical", "A2", "cancelled", "critical", False, False),
    ("resolved-critical", "A2", "resolved", "critical", False, True),
    ("resolved-critical-acked", "A2", "resolved", "critical", True, False),
    ("resolved-warning", "A2", "resolved", "warning", False, False),
    ("resolved-critical-b1", "B1", "resolved", "critical", False, True),
)
DAY_S = 86_400.0


@pytest.fixture
def cases(db_url: str, world: World) -> dict[str, int]:
    """The alerts of CASES, each with the transition the evaluator would have written."""
    now = world.now
    ids: dict[str, int] = {}
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            for i, (name, site, state, severity, acked, _) in enumerate(CASES):
                started = now - timedelta(hours=3, minutes=i)
                closed = state in ("resolved", "cancelled")
                ids[name] = conn.execute(
                    alerts.insert()
                    .values(
                        rule=f"intensity.{name}",
                        kind="intensity",
                        subject=f"site:{site}",
                        site_id=world.site_ids[site],
                        state=state,
                        severity=severity,
                        value=140.0,
                        threshold=135.0,
                        unit="kgce/t",
                        started_at=started,
                        fired_at=started + timedelta(hours=1) if state != "pending" else None,
                        resolved_at=now - timedelta(minutes=5) if closed else None,
                        last_evaluated_at=now - timedelta(minutes=5) if closed else now,
                        acknowledged_by="reg_a" if acked else None,
                        acknowledged_at=now - timedelta(minutes=1) if acked else None,
                        ack_comment="plant informed" if acked else None,
                    )
                    .returning(alerts.c.id)
                ).scalar_one()
                conn.execute(
                    alert_transitions.insert().values(
                        alert_id=ids[name],
                        at=started,
                        from_state=None,
                        to_state="pending",
                        severity=severity,
                        value=140.0,
                        threshold=135.0,
                        window_s=DAY_S,
                    )
                )
    finally:
        engine.dispose()
    return ids


def _inbox(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    answer = client.get("/api/v1/alerts", params={"state": "inbox", **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_inbox_holds_firing_and_unacknowledged_critical_alerts(
    client: TestClient, world: World, cases: dict[str, int]
) -> None:
    reg = login(client, "reg_a")
    body = _inbox(client, reg)
    expected = {cases[n] for n, site, *_, inbox in CASES if inbox and site != "B1"}
    expected |= {world.alert_ids["A1"], world.alert_ids["A2"]}
    assert {a["id"] for a in body["items"]} == expected
    assert body["total"] == len(expected) == 5
    resolved = next(a for a in body["items"] if a["id"] == cases["resolved-critical"])
    assert (resolved["state"], resolved["acknowledged_at"]) == ("resolved", None)

    # Acknowledging the resolved critical alert takes it out of the inbox.
    acked = client.post(
        f"/api/v1/alerts/{cases['resolved-critical']}/ack",
        json={"comment": "breach over, report requested"},
        headers=reg,
    )
    assert acked.status_code == 200, acked.text
    assert acked.json()["ack_comment"] == "breach over, report requested"
    after = _inbox(client, reg)
    assert {a["id"] for a in after["items"]} == expected - {cases["resolved-critical"]}


def test_severity_filter_and_counts(
    client: TestClient, world: World, cases: dict[str, int]
) -> None:
    reg = login(client, "reg_a")
    everything = _inbox(client, reg)
    # Inbox of 1401: firing-info; energy.A1, energy.A2 (warning); firing-critical-acked,
    # resolved-critical (critical).
    assert everything["counts"] == {"info": 1, "warning": 2, "critical": 2}

    regulator_view = _inbox(client, reg, severity=["warning", "critical"])
    assert {a["severity"] for a in regulator_view["items"]} == {"warning", "critical"}
    assert regulator_view["total"] == 4 == len(regulator_view["items"])
    # The counts ignore the severity filter: they say what each choice would show.
    assert regulator_view["counts"] == everything["counts"]

    critical = _inbox(client, reg, severity="critical")
    assert {a["id"] for a in critical["items"]} == {
        cases["firing-critical-acked"],
        cases["resolved-critical"],
    }
    assert critical["total"] == 2

    # Paging keeps the total and the counts of the whole selection.
    first = _inbox(client, reg, severity=["warning", "critical"], limit=1)
    assert (len(first["items"]), first["total"]) == (1, 4)
    assert first["counts"] == everything["counts"]

    # Counts follow the other filters (here: state and site) and the caller's scope.
    open_a2 = client.get(
        "/api/v1/alerts", params={"state": "open", "site": "A2"}, headers=reg
    ).json()
    assert open_a2["counts"] == {"info": 0, "warning": 1, "critical": 0}
    admin = _inbox(client, login(client, "admin"))
    assert admin["counts"] == {"info": 1, "warning": 3, "critical": 3}

    bad = client.get("/api/v1/alerts", params={"severity": "advisory"}, headers=reg)
    assert bad.status_code == 422


def test_each_alert_carries_the_window_of_its_value(
    client: TestClient, db_url: str, world: World, cases: dict[str, int]
) -> None:
    reg = login(client, "reg_a")
    items = {a["id"]: a for a in _inbox(client, reg)["items"]}
    resolved = items[cases["resolved-critical"]]
    assert resolved["window_s"] == DAY_S
    # A closed alert's value was last computed when it resolved: its window ends there.
    assert datetime.fromisoformat(resolved["evaluated_at"]) == world.now - timedelta(minutes=5)
    firing = items[cases["firing-info"]]
    assert datetime.fromisoformat(firing["evaluated_at"]) == world.now
    # The latest transition that names a window wins (an acknowledgement names none).
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(
                alert_transitions.insert().values(
                    alert_id=cases["firing-info"],
                    at=world.now,
                    from_state="pending",
                    to_state="firing",
                    severity="info",
                    window_s=3600.0,
                )
            )
            conn.execute(
                sa.update(alerts)
                .where(alerts.c.id == cases["firing-info"])
                .values(last_evaluated_at=None)
            )
    finally:
        engine.dispose()
    client.post(f"/api/v1/alerts/{cases['firing-info']}/ack", json={}, headers=reg)
    detail = client.get(f"/api/v1/alerts/{cases['firing-info']}", headers=reg).json()
    assert detail["window_s"] == 3600.0
    # Never evaluated since it started: the window ends when the alert started.
    assert detail["evaluated_at"] == detail["started_at"]
    # An alert the world wrote without transitions has no window to show.
    assert items[world.alert_ids["A1"]]["window_s"] is None
