"""Which evaluation runs when, and which subjects an event or a tick covers (pure logic)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from energywatch.storage.changes import READINGS_CHANNEL, ROLLUPS_CHANNEL, encode
from services.alerting.events import Changes, Schedule, Tick
from services.alerting.notify import OpenAlert
from services.alerting.registry import Point, Registry
from services.alerting.rules import parse_rule


def rule(kind: str, **extra: object):
    return parse_rule({"name": f"r.{kind}", "kind": kind, **extra}, "test")


def registry() -> Registry:
    reg = Registry()
    t = datetime(2026, 1, 1, tzinfo=UTC)
    for pid, site in ((1, 10), (2, 10), (3, 20)):
        reg.points[pid] = Point(pid, site, f"P{pid}", "power", "instantaneous", "consumption",
                                None, None, t, 0)  # fmt: skip
    return reg


def open_alert(rule_name: str, site_id: int | None, point_id: int | None) -> OpenAlert:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    return OpenAlert(
        1, rule_name, "power", "s", site_id, point_id, "pending", "critical", 1.0, 1.0, "kW",
        t, None, None, None, None, 0, None, None, None, None,
    )  # fmt: skip


def test_changes_fold_notifications_and_hand_them_over_once():
    changes = Changes()
    for payload in encode([3, 1]) + encode([1, 2]):
        changes.add(READINGS_CHANNEL, payload)
    changes.add(ROLLUPS_CHANNEL, encode([3])[0])
    taken = changes.take()
    assert (taken.readings, taken.rollups, taken.notifications) == ({1, 2, 3}, {3}, 3)
    assert not changes and len(taken) == 4


def test_readings_feed_point_rules_and_rollups_feed_site_rules_through_their_sites():
    changes = Changes({1}, {2, 3})
    reg = registry()
    assert changes.ids(rule("power", thresholds={"critical": 1}), reg, [], False) == {1}
    assert changes.ids(rule("silent", thresholds={"warning": 30}), reg, [], False) == {1}
    # a readings rule with a cadence of its own waits for it (a tick when due, or its alerts)
    slow = rule("stuck", thresholds={"warning": 0.001}, window="2h", every="5m")
    assert changes.ids(slow, reg, [], False) == ()
    assert changes.ids(rule("energy", thresholds={"warning": 1}), reg, [], False) == {10, 20}
    assert changes.ids(rule("completeness"), reg, [], False) == {2, 3}
    assert not Changes({1}, set()).ids(rule("energy", thresholds={"warning": 1}), reg, [], False)


def test_a_tick_covers_open_alerts_and_rules_whose_every_is_due():
    power = rule("power", thresholds={"critical": 1})
    alerts = [open_alert("r.power", 10, 1), open_alert("other", 10, 2)]
    assert Tick().ids(power, registry(), alerts, True) == {1}
    silent = rule("silent", thresholds={"warning": 30}, every="30s")
    assert Tick().ids(silent, registry(), [], True) is None  # all its subjects
    assert Tick().ids(silent, registry(), [], False) == set()
    energy = rule("energy", thresholds={"warning": 1})
    assert Tick().ids(energy, registry(), [open_alert("r.energy", 10, None)], False) == {10}


def test_schedule_sweeps_first_then_events_at_once_ticks_and_sweeps_on_time():
    s = Schedule(interval_s=5.0, sweep_s=60.0, events=True, start=100.0)
    assert s.due(100.0, changed=True) == "sweep"
    assert s.due(100.1, changed=False) is None
    assert s.wait_s(100.1) == pytest.approx(4.9)
    assert s.due(100.2, changed=True) == "event"
    assert s.due(105.0, changed=True) == "tick"  # time first; the changes run right after it
    assert s.due(105.1, changed=True) == "event"
    assert [s.due(t, changed=False) for t in (110.0, 115.0, 160.0, 161.0)] == [
        "tick",
        "tick",
        "sweep",
        None,
    ]
    assert s.due(165.0, changed=False) == "tick"


def test_without_events_the_schedule_is_the_timer_driven_cycle():
    s = Schedule(interval_s=5.0, sweep_s=60.0, events=False, start=0.0)
    assert [s.due(t, changed=True) for t in (0.0, 1.0, 5.0, 7.0, 10.0)] == [
        "sweep",
        None,
        "sweep",
        None,
        "sweep",
    ]
