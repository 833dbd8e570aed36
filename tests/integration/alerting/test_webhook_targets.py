"""Webhooks are checked again when delivered, against what the host resolves to then, and the
request goes to the address that was checked: real outbox, real receiver, real HTTP."""

from __future__ import annotations

import json

import psycopg

from services.alerting.delivery import Deliverer, RetryPolicy
from services.alerting.rules import parse_rule
from services.alerting.senders import WebhookSender
from services.alerting.webhooks import WebhookPolicy
from tests.integration.alerting.support import LOCAL_NETWORK, SECRET, webhook_receiver


def _enqueue(conn: psycopg.Connection, target: str) -> int:
    row = conn.execute(
        "INSERT INTO notification_outbox (idempotency_key, event, channel, target, payload) "
        "VALUES (%s, 'firing', 'webhook', %s, %s) RETURNING id",
        (f"k:{target}", target, json.dumps({"event": "firing", "rule": "r"})),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _outcome(conn: psycopg.Connection, outbox_id: int) -> tuple[str, int, str | None]:
    row = conn.execute(
        "SELECT status, attempts, last_error FROM notification_outbox WHERE id = %s",
        (outbox_id,),
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def _deliver(conn: psycopg.Connection, policy: WebhookPolicy) -> None:
    sender = WebhookSender(SECRET, 5, policy)
    try:
        Deliverer(conn, {"webhook": sender}, RetryPolicy(max_attempts=3)).deliver_due()
    finally:
        sender.close()


def test_delivery_refuses_internal_targets_and_sends_nothing(conn: psycopg.Connection) -> None:
    with webhook_receiver() as hook:
        port = hook.url.rsplit(":", 1)[1].split("/")[0]
        metadata = _enqueue(conn, "http://169.254.169.254/latest/meta-data/")
        # A name: resolved by the system resolver at delivery time.
        local = _enqueue(conn, f"http://localhost:{port}/hook")
        _deliver(conn, WebhookPolicy())
        status, attempts, error = _outcome(conn, metadata)
        assert (status, attempts) == ("failed", 1)  # final: no retry can fix it
        assert error is not None and "169.254.169.254 is a link-local address" in error
        status, attempts, error = _outcome(conn, local)
        assert (status, attempts) == ("failed", 1)
        assert error is not None and "localhost resolves to" in error and "loopback" in error
        assert hook.raw == []


class ChangingDns:
    """Stands in for DNS, whose answers a test cannot set: each lookup takes the next answer
    given for the host, the last one repeating."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        queue = self.answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]


def test_a_host_that_resolves_elsewhere_at_delivery_is_refused(conn: psycopg.Connection) -> None:
    dns = ChangingDns({"hooks.plant.test": [["93.184.216.34"], ["169.254.169.254"]]})
    policy = WebhookPolicy(resolver=dns)
    url = "http://hooks.plant.test/hook"
    rule = {"name": "r", "kind": "power", "thresholds": {"critical": 1}}
    parse_rule({**rule, "recipients": [{"webhook": url}]}, "body", policy)  # public when stored
    outbox_id = _enqueue(conn, url)
    _deliver(conn, policy)
    status, _, error = _outcome(conn, outbox_id)
    assert status == "failed"
    assert error is not None and "hooks.plant.test resolves to 169.254.169.254" in error
    assert dns.lookups == ["hooks.plant.test", "hooks.plant.test"]


def test_the_request_goes_to_the_address_that_was_checked(conn: psycopg.Connection) -> None:
    with webhook_receiver() as hook:
        port = hook.url.rsplit(":", 1)[1].split("/")[0]
        # Checked once and connected to as checked: a second lookup would find nothing.
        dns = ChangingDns({"hooks.plant.test": [["127.0.0.1"], []]})
        policy = WebhookPolicy.allowing([LOCAL_NETWORK], dns)
        outbox_id = _enqueue(conn, f"http://hooks.plant.test:{port}/hook")
        _deliver(conn, policy)
        assert _outcome(conn, outbox_id)[0] == "delivered"
        assert hook.hosts == [f"hooks.plant.test:{port}"]
        assert dns.lookups == ["hooks.plant.test"]
