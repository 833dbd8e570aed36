"""Lifecycle against the real database and real receivers: for + hysteresis against
flapping, no-data waiting for `for`, notifications by webhook and e-mail, acknowledge,
re-notify, silences, escalation, retries, and state that survives a new evaluator."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from services.alerting.actions import AlertNotFound, acknowledge, expire_silence, silence
from services.alerting.delivery import Deliverer, RetryPolicy
from services.alerting.evaluator import Evaluator
from services.alerting.senders import EmailSender, Sender, WebhookSender
from services.alerting.silences import Silence
from tests.integration.alerting.support import (
    LOCAL_RECEIVERS,
    SECRET,
    add_point,
    add_readings,
    add_site,
    open_state,
    smtp_server,
    webhook_receiver,
)
from tests.support.clock import SITE_TZ, at_instants, local_day
from tests.support.waiting import wait_until

S = timedelta(seconds=1)
M = timedelta(minutes=1)


def power_site(conn, code="S1", division="140100"):
    site = add_site(conn, code, division=division)
    return add_point(conn, site, "P", "power", kind="instantaneous", unit="kW")


def power_rule(name, **extra):
    return {
        "name": name,
        "kind": "power",
        "window": "4s",
        "thresholds": {"critical": 1000},
        **extra,
    }


def deliverer(conn, mailbox=None, retry=None):
    senders: dict[str, Sender] = {"webhook": WebhookSender(SECRET, 5, LOCAL_RECEIVERS)}
    if mailbox is not None:
        senders["email"] = EmailSender(mailbox.host, mailbox.port, "alerts@example.org")
    return Deliverer(conn, senders, retry or RetryPolicy(max_attempts=3, base_s=0.05))


def test_for_and_hysteresis_stop_flapping_on_a_noisy_series(conn, t0, make_evaluator):
    point = power_site(conn)
    evaluator = make_evaluator(
        [
            power_rule("naive"),
            power_rule("damped", **{"for": "30s", "clear": 900}),
        ]
    )
    rng = np.random.default_rng(3)
    # 5 minutes hovering around the limit, a real excursion, then well back down.
    values = np.concatenate(
        [1000 + rng.normal(0, 20, 60), 1100 + rng.normal(0, 20, 20), 800 + rng.normal(0, 20, 10)]
    )
    for k, v in enumerate(values):
        now = t0 + k * 5 * S
        add_readings(conn, point, [(now, float(v))])
        evaluator.cycle(now)

    def firings(rule):
        return conn.execute(
            "SELECT count(*) FROM alert_transitions t JOIN alerts a ON a.id = t.alert_id "
            "WHERE a.rule = %s AND t.to_state = 'firing'",
            (rule,),
        ).fetchone()[0]

    assert firings("naive") >= 10  # the flapping the others complain about
    assert firings("damped") == 1  # one alert for the whole episode
    assert open_state(conn, "damped", "point:S1/P") is None  # and it resolved


def test_silent_point_waits_for_for(conn, t0, make_evaluator):
    site = add_site(conn, "S1")
    point = add_point(conn, site, "E", "electricity", created_at=t0 - timedelta(days=1))
    add_readings(conn, point, [(t0, 1.0)])
    evaluator = make_evaluator(
        [{"name": "silent", "kind": "silent", "thresholds": {"warning": 5}, "for": "10m"}]
    )
    seen = []
    for minutes in (4, 6, 10, 14, 15, 16, 20):
        evaluator.cycle(t0 + minutes * M)
        seen.append((minutes, open_state(conn, "silent", "point:S1/E")))
    assert seen == [
        (4, None),
        (6, "pending"),
        (10, "pending"),
        (14, "pending"),
        (15, "pending"),
        (16, "firing"),
        (20, "firing"),
    ]


def test_no_data_alert_waits_for_for(conn, t0, make_evaluator):
    power_site(conn)
    evaluator = make_evaluator([power_rule("nodata", no_data="alert", **{"for": "1m"})])
    states = []
    for seconds in (0, 30, 59, 60, 90):
        evaluator.cycle(t0 + seconds * S)
        states.append(open_state(conn, "nodata", "point:S1/P"))
    assert states == ["pending", "pending", "pending", "firing", "firing"]


def test_notifications_ack_renotify_and_resolve(conn, engine, t0, make_evaluator):
    point = power_site(conn)
    with webhook_receiver() as hook, smtp_server() as mailbox:
        evaluator = make_evaluator(
            [
                power_rule(
                    "p",
                    renotify="2m",
                    recipients=[{"webhook": hook.url}, {"email": "ops@example.org"}],
                )
            ]
        )
        worker = deliverer(conn, mailbox)
        add_readings(conn, point, [(t0, 1500.0)])
        evaluator.cycle(t0)
        assert worker.deliver_due() == 2
        assert hook.events() == [("firing", "p")]
        assert hook.bad_signatures == 0
        assert len(mailbox.messages) == 1
        mail = mailbox.messages[0]
        assert "CRITICAL firing" in mail["Subject"]
        assert mail["X-EnergyWatch-Idempotency-Key"].startswith("alert:")

        # The same state again: nothing new to say.
        add_readings(conn, point, [(t0 + 30 * S, 1500.0)])
        evaluator.cycle(t0 + 30 * S)
        assert worker.deliver_due() == 0

        # Unacknowledged after the re-notify interval: a reminder.
        add_readings(conn, point, [(t0 + 2 * M, 1500.0)])
        evaluator.cycle(t0 + 2 * M)
        worker.deliver_due()
        assert [e for e, _ in hook.events()] == ["firing", "reminder"]

        # Acknowledged: no more reminders.
        alert_id = conn.execute("SELECT id FROM alerts").fetchone()[0]
        with engine.begin() as sconn:
            assert acknowledge(sconn, alert_id, "zhang.wei", "crusher restarted")
            assert not acknowledge(sconn, alert_id, "zhang.wei", "again")
            with pytest.raises(AlertNotFound):
                acknowledge(sconn, alert_id + 99, "x")
        add_readings(conn, point, [(t0 + 5 * M, 1500.0)])
        evaluator.cycle(t0 + 5 * M)
        worker.deliver_due()
        assert [e for e, _ in hook.events()] == ["firing", "reminder"]
        by, comment = conn.execute("SELECT acknowledged_by, ack_comment FROM alerts").fetchone()
        assert (by, comment) == ("zhang.wei", "crusher restarted")

        # Back under the limit: resolved, and both channels hear of it.
        add_readings(conn, point, [(t0 + 6 * M, 500.0)])
        evaluator.cycle(t0 + 6 * M)
        worker.deliver_due()
        assert [e for e, _ in hook.events()] == ["firing", "reminder", "resolved"]
        assert len(mailbox.messages) == 3
        log = conn.execute("SELECT count(*), bool_and(ok) FROM notification_deliveries").fetchone()
        assert log == (6, True)
        transitions = [
            r[0] for r in conn.execute("SELECT to_state FROM alert_transitions ORDER BY id")
        ]
        assert transitions == ["firing", "acknowledged", "resolved"]


def test_silence_suppresses_until_it_ends(conn, engine, t0, make_evaluator):
    point = power_site(conn)
    with webhook_receiver() as hook:
        evaluator = make_evaluator([power_rule("p", recipients=[{"webhook": hook.url}])])
        worker = deliverer(conn)
        with engine.begin() as sconn:
            sid = silence(
                sconn, {"site": "S1", "rule": "p"}, t0 - M, t0 + 10 * M, "li.na", "planned outage"
            )
            other = silence(sconn, {"site": "OTHER"}, t0 - M, t0 + 10 * M, "li.na")
        add_readings(conn, point, [(t0, 1500.0)])
        evaluator.cycle(t0)
        worker.deliver_due()
        assert open_state(conn, "p", "point:S1/P") == "firing"  # still evaluated and shown
        assert conn.execute("SELECT silenced_by FROM alerts").fetchone()[0] == sid
        assert hook.raw == []
        assert conn.execute("SELECT count(*) FROM notification_outbox").fetchone()[0] == 0

        # The silence runs out while the alert still fires: now it is announced.
        add_readings(conn, point, [(t0 + 11 * M, 1500.0)])
        evaluator.cycle(t0 + 11 * M)
        worker.deliver_due()
        assert hook.events() == [("firing", "p")]
        assert conn.execute("SELECT silenced_by FROM alerts").fetchone()[0] is None
        assert other != sid


def test_expire_silence(conn, engine, t0):
    power_site(conn)
    with engine.begin() as sconn:
        sid = silence(sconn, {"region": "14"}, t0 - M, t0 + 600 * M, "li.na")
        assert expire_silence(sconn, sid)
        assert not expire_silence(sconn, sid)
        with pytest.raises(ValueError, match="unknown keys"):
            silence(sconn, {"plant": "x"}, t0, t0 + M, "li.na")
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as sconn:
        sconn.execute(
            sa.text(
                "INSERT INTO silences (matchers, starts_at, ends_at, "
                "created_by) VALUES ('{}', now(), now(), 'x')"
            )
        )


@at_instants
def test_maintenance_window_recurs_at_local_times(t0):
    window = Silence(
        1, {}, t0 - M, t0 + timedelta(days=30), time(2, 0), time(4, 0), "Asia/Shanghai"
    )
    # The next 02:30 in Shanghai after t0, whatever t0's hour in UTC or in Shanghai.
    tomorrow = local_day(t0) + timedelta(days=1)
    local_2_30 = datetime.combine(tomorrow, time(2, 30), SITE_TZ).astimezone(UTC)
    assert window.active(local_2_30)
    assert window.active(local_2_30 + 24 * 60 * M)
    assert not window.active(local_2_30 + 2 * 60 * M)
    assert not window.active(local_2_30 - 60 * M)


def test_escalation_to_the_regions_regulator(conn, engine, t0, make_evaluator):
    p1 = power_site(conn, "S1", division="140105")
    p2 = power_site(conn, "S2", division="140106")
    conn.execute("UPDATE points SET code = 'P' WHERE id = %s", (p2,))
    with (
        webhook_receiver() as operator,
        webhook_receiver() as regulator,
        webhook_receiver() as elsewhere,
    ):
        conn.execute(
            "INSERT INTO alert_contacts (role, division_prefix, channel, target) VALUES "
            "('regulator', '1401', 'webhook', %s), ('regulator', '3201', 'webhook', %s)",
            (regulator.url, elsewhere.url),
        )
        evaluator = make_evaluator(
            [power_rule("p", recipients=[{"webhook": operator.url}], escalation={"after": "30m"})]
        )
        worker = deliverer(conn)
        for k in range(0, 40, 5):
            now = t0 + k * M
            add_readings(conn, p1, [(now, 1500.0)])
            add_readings(conn, p2, [(now, 1500.0)])
            evaluator.cycle(now)
            worker.deliver_due()
            if k == 10:  # S2's operator acknowledges in time
                alert = conn.execute(
                    "SELECT id FROM alerts WHERE subject = 'point:S2/P'"
                ).fetchone()[0]
                with engine.begin() as sconn:
                    acknowledge(sconn, alert, "wang.fang")
        assert sorted(operator.events()) == [("firing", "p"), ("firing", "p")]
        escalated = [p["subject"] for p in regulator.by_key.values()]
        assert escalated == ["point:S1/P"]
        assert all(p["event"] == "escalation" for p in regulator.by_key.values())
        assert elsewhere.raw == []
        fired, escalated_at = conn.execute(
            "SELECT fired_at, escalated_at FROM alerts WHERE subject = 'point:S1/P'"
        ).fetchone()
        assert escalated_at - fired >= timedelta(minutes=30)


def test_failed_delivery_is_retried_with_the_same_key(conn, t0, make_evaluator):
    point = power_site(conn)
    with webhook_receiver() as hook:
        hook.status = 503
        evaluator = make_evaluator([power_rule("p", recipients=[{"webhook": hook.url}])])
        worker = deliverer(conn, retry=RetryPolicy(max_attempts=5, base_s=0.05))
        add_readings(conn, point, [(t0, 1500.0)])
        evaluator.cycle(t0)
        worker.deliver_due()
        assert conn.execute("SELECT status, attempts FROM notification_outbox").fetchone() == (
            "pending",
            1,
        )
        hook.status = 200
        # Not due before its backoff (0.05 s base) is over; then delivered on the next call.
        wait_until(lambda: worker.deliver_due() > 0, 10, "the retry after its backoff", 0.01)
        assert conn.execute("SELECT status, attempts FROM notification_outbox").fetchone() == (
            "delivered",
            2,
        )
        keys = {p["idempotency_key"] for p in hook.raw}
        assert len(hook.raw) == 2 and len(keys) == 1
        assert [
            r[0] for r in conn.execute("SELECT ok FROM notification_deliveries ORDER BY id")
        ] == [False, True]


def test_state_survives_a_new_evaluator(conn, t0, make_evaluator):
    point = power_site(conn)
    with webhook_receiver() as hook:
        rules = [power_rule("p", recipients=[{"webhook": hook.url}], **{"for": "1m"})]
        add_readings(conn, point, [(t0, 1500.0)])
        make_evaluator(rules).cycle(t0)
        assert open_state(conn, "p", "point:S1/P") == "pending"
        # A restarted process: the pending clock kept running.
        second: Evaluator = make_evaluator(rules)
        add_readings(conn, point, [(t0 + M, 1500.0)])
        second.cycle(t0 + M)
        assert open_state(conn, "p", "point:S1/P") == "firing"
        third: Evaluator = make_evaluator(rules)
        add_readings(conn, point, [(t0 + 2 * M, 1500.0)])
        third.cycle(t0 + 2 * M)
        deliverer(conn).deliver_due()
        assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == 1
        assert len(hook.raw) == 1


def test_one_evaluator_per_database(db_url):
    import psycopg

    from services.alerting.evaluator import try_lock

    with (
        psycopg.connect(db_url, autocommit=True) as first,
        psycopg.connect(db_url, autocommit=True) as second,
    ):
        assert try_lock(first)
        assert not try_lock(second)  # stands by
        first.close()  # the holder goes: its session lock goes with it (once the server
        # has ended that backend, which it does asynchronously)
        wait_until(lambda: try_lock(second), 10, "the lock to be released")


def test_cycle_updates_metrics(conn, t0, make_evaluator):
    from prometheus_client import REGISTRY

    def sample(name, labels=None):
        return REGISTRY.get_sample_value(name, labels or {}) or 0.0

    point = power_site(conn)
    evaluator = make_evaluator([power_rule("p")])
    cycles = sample("energywatch_alerting_evaluation_seconds_count", {"group": "all"})
    fired = sample("energywatch_alerting_transitions_total", {"to": "firing"})
    add_readings(conn, point, [(t0, 1500.0)])
    evaluator.cycle(t0)
    assert sample("energywatch_alerting_evaluation_seconds_count", {"group": "all"}) == (cycles + 1)
    assert sample("energywatch_alerting_transitions_total", {"to": "firing"}) == fired + 1
    assert sample("energywatch_alerting_alerts", {"state": "firing"}) == 1
    assert sample("energywatch_alerting_rules") == 1


def test_evaluation_groups_share_a_database(conn, t0, tmp_path):
    """A fast and a slow group: each evaluates and notifies its own rules only; the fast one
    (retire=True) closes the alerts of a removed rule, whichever group it belonged to."""
    from services.alerting.evaluator import Evaluator
    from tests.integration.alerting.conftest import write_rules

    point = power_site(conn)
    add_readings(conn, point, [(t0, 1500.0)])
    with webhook_receiver() as hook:
        rules = [
            power_rule("fast", recipients=[{"webhook": hook.url}]),
            power_rule("slow", every="1m", recipients=[{"webhook": hook.url}]),
        ]
        source = write_rules(tmp_path / "rules", rules)

        def is_slow(rule):
            return rule.every is not None

        fast = Evaluator(conn, source, group=lambda r: not is_slow(r), group_name="fast")
        slow = Evaluator(conn, source, group=is_slow, group_name="slow", retire=False)
        fast.cycle(t0)
        assert [r for (r,) in conn.execute("SELECT rule FROM alerts")] == ["fast"]
        slow.cycle(t0)
        fast.cycle(t0 + S)  # must not re-announce the slow group's alert
        deliverer(conn).deliver_due()
        assert sorted(hook.events()) == [("firing", "fast"), ("firing", "slow")]
        assert len(hook.raw) == 2

        source = write_rules(tmp_path / "rules", rules[:1])  # the slow rule is removed
        fast.rules = source
        fast.cycle(t0 + 2 * S)
        assert open_state(conn, "slow", "point:S1/P") is None
        assert open_state(conn, "fast", "point:S1/P") == "firing"


def test_silence_measured_from_a_shared_readings_scan(conn, t0, make_evaluator):
    """With a readings scan in the same cycle, silent minutes come from it; points outside
    its window still get their newest reading by index probe. Both give the same minutes."""
    site = add_site(conn, "S1")
    recent = add_point(conn, site, "A", "electricity", created_at=t0 - timedelta(days=1))
    old = add_point(conn, site, "B", "electricity", created_at=t0 - timedelta(days=1))
    add_readings(conn, recent, [(t0 - 7 * M, 5.0), (t0 - 6 * M, 5.0)])
    add_readings(conn, old, [(t0 - 40 * M, 5.0)])
    evaluator = make_evaluator(
        [
            {"name": "silent", "kind": "silent", "thresholds": {"warning": 5}},
            {"name": "stuck", "kind": "stuck", "window": "10m"},
        ]
    )
    evaluator.cycle(t0)
    values = dict(conn.execute("SELECT subject, value FROM alerts WHERE rule = 'silent'"))
    assert values == {"point:S1/A": pytest.approx(6.0), "point:S1/B": pytest.approx(40.0)}
