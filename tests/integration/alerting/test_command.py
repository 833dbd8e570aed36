"""`energywatch alerting --once` end to end: real CLI process, real database, real webhook
and SMTP receivers; and a bad rules file stops the start naming file and field."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.integration.alerting.conftest import write_rules
from tests.integration.alerting.support import (
    LOCAL_RECEIVERS_ENV,
    SECRET,
    add_point,
    add_readings,
    add_site,
    smtp_server,
    webhook_receiver,
)

ROOT = Path(__file__).resolve().parents[3]
CLI = str(ROOT / ".venv" / "bin" / "energywatch")


def env_for(db_url: str, rules_dir: Path, smtp_port: int = 25) -> dict[str, str]:
    return {
        **os.environ,
        "ENERGYWATCH_DEMO": "1",
        "ENERGYWATCH_DATABASE__URL": db_url,
        "ENERGYWATCH_ALERTING__RULES_DIR": str(rules_dir),
        "ENERGYWATCH_ALERTING__DEFAULT_RULES": "false",
        "ENERGYWATCH_ALERTING__SMTP_PORT": str(smtp_port),
        "ENERGYWATCH_ALERTING__WEBHOOK_SECRET": SECRET.decode(),
        **LOCAL_RECEIVERS_ENV,
    }


def run_once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "alerting", "--once"], cwd=ROOT, timeout=60, env=env, capture_output=True, text=True
    )


def test_once_evaluates_and_delivers(conn, db_url, tmp_path):
    site = add_site(conn, "S1")
    point = add_point(conn, site, "SO2", "so2", kind="instantaneous", role="emission", unit="mg/m3")
    now = datetime.now(UTC)  # the CLI evaluates at its own clock
    # An hourly mean needs 45 valid minutes (HJ 75-2017): a reading a minute for the hour.
    add_readings(conn, point, [(now - timedelta(seconds=10 + 60 * k), 80.0) for k in range(60)])
    conn.execute(
        "INSERT INTO alert_contacts (role, site_id, channel, target) "
        "VALUES ('operator', %s, 'email', 'env@s1.example.cn')",
        (site,),
    )
    with webhook_receiver() as hook, smtp_server() as mailbox:
        write_rules(
            tmp_path / "rules",
            [
                {
                    "name": "so2",
                    "kind": "pollutant",
                    "select": {"measure": "so2"},
                    "window": "1h",
                    "thresholds": {"critical": 35},
                    "source": "ultra-low emission SO2 35 mg/m3",
                    "recipients": [{"webhook": hook.url}, {"contacts": "operator"}],
                }
            ],
        )
        done = run_once(env_for(db_url, tmp_path / "rules", mailbox.port))
        assert done.returncode == 0, done.stderr
        assert hook.events() == [("firing", "so2")]
        payload = next(iter(hook.by_key.values()))
        assert payload["value"] == 80.0 and payload["source"].startswith("ultra-low")
        assert [m["To"] for m in mailbox.messages] == ["env@s1.example.cn"]


def test_bad_rules_file_stops_the_start(db_url, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "plant.yaml").write_text(
        "rules:\n  - {name: demand, kind: power, thresholds: {critical: 10}, for: soon}\n"
    )
    done = run_once(env_for(db_url, rules))
    assert done.returncode != 0
    assert "plant.yaml: rules[0] (demand): for:" in done.stderr


def test_a_rules_file_webhook_to_an_internal_address_stops_the_start(db_url, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "plant.yaml").write_text(
        "rules:\n  - {name: meta, kind: power, thresholds: {critical: 10},\n"
        "     recipients: [{webhook: 'http://169.254.169.254/latest/meta-data/'}]}\n"
    )
    done = run_once(env_for(db_url, rules))
    assert done.returncode != 0
    assert (
        "plant.yaml: rules[0] (meta): recipients[0].webhook: webhook "
        "'http://169.254.169.254/latest/meta-data/' refused: 169.254.169.254 is a link-local"
        " address (allowed only in alerting.webhook_allowed_networks)"
    ) in done.stderr
