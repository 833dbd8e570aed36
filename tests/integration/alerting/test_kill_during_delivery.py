"""kill -9 of the alerting process while it delivers: after a restart every notification
has reached the receiver exactly once per idempotency key, no alert is doubled, and at most
the one delivery in flight at the kill was sent twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.demo.broker import free_port
from tests.integration.alerting.conftest import write_rules
from tests.integration.alerting.support import (
    LOCAL_RECEIVERS_ENV,
    SECRET,
    add_point,
    add_readings,
    add_site,
    webhook_receiver,
)
from tests.support.processes import end_tree, start_tree
from tests.support.waiting import holds_for, wait_until

N_SITES = 24
INTERVAL_S = 0.2
ROOT = Path(__file__).resolve().parents[3]


def start(db_url: str, rules_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ENERGYWATCH_DEMO": "1",
        "ENERGYWATCH_DATABASE__URL": db_url,
        "ENERGYWATCH_ALERTING__RULES_DIR": str(rules_dir),
        "ENERGYWATCH_ALERTING__DEFAULT_RULES": "false",
        "ENERGYWATCH_ALERTING__INTERVAL_S": str(INTERVAL_S),
        "ENERGYWATCH_ALERTING__METRICS_PORT": str(free_port()),
        "ENERGYWATCH_ALERTING__WEBHOOK_SECRET": SECRET.decode(),
        **LOCAL_RECEIVERS_ENV,
        "ENERGYWATCH_LOG_LEVEL": "WARNING",
    }
    code = (
        "from energywatch.settings import load_settings;"
        "from services.alerting.command import run; run(load_settings())"
    )
    return start_tree([sys.executable, "-c", code], env=env, cwd=ROOT)


def in_flight(hook) -> int:
    """Deliveries received and not yet answered (the receiver holds each answer back)."""
    with hook.lock:
        return len(hook.raw) - len(hook.by_key)


def test_kill_9_during_delivery_delivers_each_notification_once(conn, db_url, tmp_path):
    now = datetime.now(UTC)
    for k in range(N_SITES):
        site = add_site(conn, f"S{k:02d}")
        point = add_point(conn, site, "P", "power", kind="instantaneous", unit="kW")
        add_readings(conn, point, [(now - timedelta(seconds=5), 1500.0)])
    with webhook_receiver() as hook:
        hook.delay_s = 0.15  # slow receiver: the kill lands in the middle of the deliveries
        write_rules(
            tmp_path / "rules",
            [
                {
                    "name": "contracted-demand",
                    "kind": "power",
                    "window": "30m",
                    "thresholds": {"critical": 1000},
                    "recipients": [{"webhook": hook.url}],
                }
            ],
        )
        first = start(db_url, tmp_path / "rules")
        try:
            wait_until(lambda: len(hook.raw) >= N_SITES // 3, 60, "a third of the deliveries")
            # Inside a delivery, before its answer: received, not yet acknowledged.
            wait_until(lambda: in_flight(hook) > 0, 10, "a delivery in flight", poll_s=0.005)
            first.send_signal(signal.SIGKILL)  # both evaluation groups are its threads
            first.wait(10)
        finally:
            end_tree(first)
        raw_at_kill = len(hook.raw)
        delivered_at_kill = conn.execute(
            "SELECT count(*) FROM notification_outbox WHERE status = 'delivered'"
        ).fetchone()[0]
        assert 0 < delivered_at_kill < N_SITES

        second = start(db_url, tmp_path / "rules")
        try:
            wait_until(
                lambda: (
                    conn.execute(
                        "SELECT count(*) FROM notification_outbox WHERE status = 'delivered'"
                    ).fetchone()[0]
                    == N_SITES
                ),
                60,
                "every notification delivered",
            )
            # Nothing new may be sent: five delivery cycles would each have sent anything
            # still due (or wrongly due again).
            sent = len(hook.raw)
            holds_for(lambda: len(hook.raw) == sent, 5 * INTERVAL_S, "no delivery after the last")
            second.send_signal(signal.SIGTERM)
            assert second.wait(15) == 0  # stops cleanly
        finally:
            end_tree(second)

    keys = [p["idempotency_key"] for p in hook.raw]
    assert len(hook.by_key) == N_SITES  # every notification arrived
    assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == N_SITES  # none doubled
    assert conn.execute("SELECT count(*) FROM notification_outbox").fetchone()[0] == N_SITES
    # Raw deliveries: one per key, plus at most the one in flight when the process died.
    assert N_SITES <= len(hook.raw) <= N_SITES + 1
    assert len(set(keys)) == N_SITES
    assert raw_at_kill >= delivered_at_kill
    # The outbox's own record: one successful send per key (the attempt cut by the kill was
    # rolled back with its transaction).
    per_key = conn.execute(
        "SELECT o.idempotency_key, count(d.id) FILTER (WHERE d.ok) FROM notification_outbox o "
        "LEFT JOIN notification_deliveries d ON d.outbox_id = o.id GROUP BY 1"
    ).fetchall()
    assert len(per_key) == N_SITES and all(n == 1 for _, n in per_key)
    assert {k for k, _ in per_key} == set(hook.by_key)
    assert hook.bad_signatures == 0
