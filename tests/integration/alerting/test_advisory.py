"""An advisory (severity info: e.g. a plant above the benchmark) is the operator's: it is
notified to the rule's recipients but never escalated to the regulators, until its severity
rises."""

from __future__ import annotations

from datetime import timedelta

from services.alerting.delivery import Deliverer
from services.alerting.senders import WebhookSender
from tests.integration.alerting.support import (
    LOCAL_RECEIVERS,
    SECRET,
    add_point,
    add_readings,
    add_site,
    webhook_receiver,
)

M = timedelta(minutes=1)


def test_advisory_is_not_escalated_until_it_becomes_a_warning(conn, t0, make_evaluator):
    advisory = add_point(
        conn, add_site(conn, "S1", division="140105"), "P", "power", kind="instantaneous", unit="kW"
    )
    warning = add_point(
        conn, add_site(conn, "S2", division="140106"), "P", "power", kind="instantaneous", unit="kW"
    )
    with webhook_receiver() as operator, webhook_receiver() as regulator:
        conn.execute(
            "INSERT INTO alert_contacts (role, division_prefix, channel, target) "
            "VALUES ('regulator', '1401', 'webhook', %s)",
            (regulator.url,),
        )
        rule = {
            "name": "demand",
            "kind": "power",
            "window": "4s",
            "thresholds": {"info": 1000, "warning": 2000},
            "recipients": [{"webhook": operator.url}],
            "escalation": {"after": "30m"},
        }
        evaluator = make_evaluator([rule])
        worker = Deliverer(conn, {"webhook": WebhookSender(SECRET, 5, LOCAL_RECEIVERS)})

        def minute(k: int, advisory_kw: float) -> None:
            now = t0 + k * M
            add_readings(conn, advisory, [(now, advisory_kw)])
            add_readings(conn, warning, [(now, 2500.0)])
            evaluator.cycle(now)
            worker.deliver_due()

        for k in range(0, 40, 5):
            minute(k, 1500.0)
        assert sorted((p["subject"], p["severity"]) for p in operator.by_key.values()) == [
            ("point:S1/P", "info"),
            ("point:S2/P", "warning"),
        ]
        assert [(p["subject"], p["event"]) for p in regulator.by_key.values()] == [
            ("point:S2/P", "escalation")
        ]
        # The advisory turns into a warning: unacknowledged for 40 minutes, it escalates now.
        minute(40, 2500.0)
        assert sorted((p["subject"], p["severity"]) for p in regulator.by_key.values()) == [
            ("point:S1/P", "warning"),
            ("point:S2/P", "warning"),
        ]
