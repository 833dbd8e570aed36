"""Pollutant rules judge stacks as HJ 75-2017 asks: corrected to the limit's reference O2, from
valid (flag N) minutes only, with an hourly mean only from 45 valid minutes (docs/stacks.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from energywatch.protocol import Quality
from services.api.queries.alerts import transitions
from tests.integration.alerting.support import add_point, add_site, open_state

M = timedelta(minutes=1)
RULE = {
    "name": "so2",
    "kind": "pollutant",
    "select": {"measure": "so2", "role": "emission"},
    "thresholds": {"critical": 35},
    "clear": 33,
    "window": "1h",
    "reference_o2": 6,
}


def add_minutes(conn, point: int, t: datetime, values: list[tuple[float, Quality]]) -> None:
    """One reading per minute ending 30 s before t, oldest first."""
    n = len(values)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (point_id, ts, value, quality) VALUES (%s, %s, %s, %s)",
            [
                (point, t - timedelta(seconds=30) - (n - 1 - k) * M, v, int(q))
                for k, (v, q) in enumerate(values)
            ],
        )


def stack(conn, *, zs: bool = False) -> dict[str, int]:
    site = add_site(conn, "CEMS1", kind="station", industry="coal_power")
    points = {
        "SO2": add_point(
            conn, site, "SO2", "so2", kind="instantaneous", role="emission", unit="mg/m3"
        ),
        "O2": add_point(conn, site, "O2", "o2", kind="instantaneous", role="emission", unit="%"),
    }
    if zs:
        points["SO2_ZS"] = add_point(
            conn, site, "SO2_ZS", "so2", kind="instantaneous", role="emission", unit="mg/m3"
        )
        conn.execute("UPDATE points SET corrected_o2 = 6 WHERE id = %s", (points["SO2_ZS"],))
    return points


def firing_evidence(conn) -> dict:
    row = conn.execute(
        "SELECT t.evidence FROM alert_transitions t JOIN alerts a ON a.id = t.alert_id "
        "WHERE a.rule = 'so2' AND t.to_state = 'firing'"
    ).fetchone()
    assert row, "no firing transition"
    return row[0]


def test_40_measured_at_9_percent_o2_is_50_corrected_and_fires(conn, t0, make_evaluator, engine):
    evaluator = make_evaluator([RULE])
    p = stack(conn)
    add_minutes(conn, p["SO2"], t0, [(40.0, Quality.GOOD)] * 60)
    add_minutes(conn, p["O2"], t0, [(9.0, Quality.GOOD)] * 60)
    evaluator.cycle(t0)
    assert open_state(conn, "so2", "point:CEMS1/SO2") == "firing"
    value = conn.execute("SELECT value FROM alerts WHERE rule = 'so2'").fetchone()[0]
    assert value == pytest.approx(40.0 * 15 / 12)
    inputs = firing_evidence(conn)["inputs"]
    assert inputs["basis"] == "o2_corrected" and inputs["reference_o2"] == 6
    assert inputs["valid_minutes"] == 60 and inputs["required_minutes"] == 45
    assert len(inputs["minutes"]) == 60
    first = inputs["minutes"][0]
    assert first["measured"] == 40.0 and first["o2"] == 9.0
    assert first["value"] == pytest.approx(50.0)
    # What the alerts API answers for the alert (GET /alerts/{id}: its transitions).
    alert_id = conn.execute("SELECT id FROM alerts WHERE rule = 'so2'").fetchone()[0]
    with engine.connect() as api_conn:
        (served,) = transitions(api_conn, alert_id)
    assert served["evidence"]["inputs"]["minutes"] == inputs["minutes"]


def test_calibration_minutes_stay_out_of_the_mean(conn, t0, make_evaluator):
    """33 corrected on the valid minutes; the high minutes carry calibration flags."""
    evaluator = make_evaluator([RULE])
    p = stack(conn)
    measured = 33.0 * 12 / 15  # 26.4 at 9 % O2 is 33 at 6 %
    so2 = [(measured, Quality.GOOD)] * 48 + [(400.0, Quality.INVALID)] * 12
    add_minutes(conn, p["SO2"], t0, so2)
    add_minutes(conn, p["O2"], t0, [(9.0, Quality.GOOD)] * 60)
    report = evaluator.cycle(t0)
    assert open_state(conn, "so2", "point:CEMS1/SO2") is None, report
    # The same readings judged with their flags ignored would breach: the rule is what saves it.
    mean_all = (48 * 33.0 + 12 * 400.0 * 15 / 12) / 60
    assert mean_all > 35


def test_44_valid_minutes_give_no_hourly_mean(conn, t0, make_evaluator):
    evaluator = make_evaluator([{**RULE, "no_data": "alert"}])
    p = stack(conn)
    add_minutes(conn, p["SO2"], t0, [(80.0, Quality.GOOD)] * 44 + [(80.0, Quality.INVALID)] * 16)
    add_minutes(conn, p["O2"], t0, [(6.0, Quality.GOOD)] * 60)
    evaluator.cycle(t0)
    row = conn.execute("SELECT value, state FROM alerts WHERE rule = 'so2'").fetchone()
    assert row is not None and row[0] is None  # alerted for no data, with no value
    inputs = firing_evidence(conn)["inputs"]
    assert inputs["valid_minutes"] == 44 and inputs["flagged_minutes"] == 16


def test_the_loggers_corrected_value_is_judged_when_there_is_one(conn, t0, make_evaluator):
    evaluator = make_evaluator([RULE])
    p = stack(conn, zs=True)
    add_minutes(conn, p["SO2"], t0, [(30.0, Quality.GOOD)] * 60)
    add_minutes(conn, p["O2"], t0, [(6.0, Quality.GOOD)] * 60)  # would give 30: no breach
    add_minutes(conn, p["SO2_ZS"], t0, [(36.0, Quality.GOOD)] * 60)
    evaluator.cycle(t0)
    subjects = conn.execute("SELECT subject, value FROM alerts WHERE rule = 'so2'").fetchall()
    assert subjects == [("point:CEMS1/SO2", pytest.approx(36.0))]
    assert firing_evidence(conn)["inputs"]["basis"] == "logger_corrected"
