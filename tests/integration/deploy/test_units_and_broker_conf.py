"""deploy/systemd units checked by systemd-analyze; deploy/mosquitto config run by Mosquitto."""

from __future__ import annotations

import getpass
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from typer.testing import CliRunner

from benchmarks.support.network import wait_listening
from energywatch.broker.dynsec import Account, dynsec_config, monitor_acls
from energywatch.cli import app
from services.demo.broker import free_port
from tests.support.services import dynsec_plugin

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
UNITS = DEPLOY / "systemd"
INSTALLED = "/opt/energywatch/venv/bin/energywatch"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PLUGIN = dynsec_plugin()
PLUGIN_IN_IMAGE = "/usr/lib/mosquitto_dynamic_security.so"  # eclipse-mosquitto's path


def _exec_starts() -> dict[str, list[str]]:
    out = {}
    for unit in sorted(UNITS.glob("*.service")):
        match = re.search(r"^ExecStart=(.+)$", unit.read_text(), re.M)
        assert match, f"{unit.name} has no ExecStart"
        out[unit.name] = match[1].split()
    return out


def test_units_run_energywatch_subcommands() -> None:
    runner = CliRunner()
    starts = _exec_starts()
    assert {"energywatch-ingest@.service", "energywatch-edge@.service"} <= set(starts)
    for name, argv in starts.items():
        assert argv[0] == INSTALLED, name
        words = [w for w in argv[1:] if not w.startswith("-") and not w.startswith("/")]
        result = runner.invoke(app, [*words, "--help"])
        assert result.exit_code == 0, f"{name}: `energywatch {' '.join(words)}` does not exist"


def test_every_unit_is_restarted_whatever_its_exit_status() -> None:
    # A service that stops on a fault of its own exits non-zero, but a clean exit after a dead
    # thread must come back too: on-failure would leave such a worker down.
    for unit in sorted(UNITS.glob("*.service")):
        text = unit.read_text()
        if re.search(r"^Type=oneshot$", text, re.M):  # the migration runs once per start
            continue
        assert re.search(r"^Restart=always$", text, re.M), unit.name


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    # The units name the installed path; point them at this checkout's command instead.
    here = str(Path(sys.executable).with_name("energywatch"))
    for unit in UNITS.iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED, here))
    names = [
        p.name.replace("@.", "@1.")
        for p in sorted(tmp_path.iterdir())
        if p.suffix in (".service", ".target")
    ]
    # Instances are resolved against the templates in the same directory.
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *[f"./{n}" for n in names]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # And it can fail: a misspelt key is refused.
    bad = tmp_path / "energywatch-broken.service"
    bad.write_text(
        (tmp_path / "energywatch-api.service").read_text().replace("ExecStart=", "ExecStrat=")
    )
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"./{bad.name}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0


@pytest.mark.skipif(
    not Path(MOSQUITTO).exists() or PLUGIN is None,
    reason="mosquitto or its dynamic security plugin is not installed",
)
def test_mosquitto_conf_starts_refuses_anonymous_and_answers_health_check(tmp_path: Path) -> None:
    port, health = free_port(), free_port()
    (tmp_path / "broker").mkdir()
    (tmp_path / "data").mkdir()
    account = Account("watcher", "watcher-secret", "watcher", "monitor")
    dynsec = dynsec_config([account], {"monitor": monitor_acls("ew/v1")}, iterations=101)
    (tmp_path / "broker" / "dynamic-security.json").write_text(json.dumps(dynsec))
    conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
    assert PLUGIN_IN_IMAGE in conf
    conf = (
        conf.replace(PLUGIN_IN_IMAGE, str(PLUGIN))
        .replace("/broker/", f"{tmp_path}/broker/")
        .replace("/mosquitto/data/", f"{tmp_path}/data/")
        .replace("/mosquitto/config/health.acl", str(DEPLOY / "mosquitto" / "health.acl"))
        .replace("listener 1883\n", f"listener {port} 127.0.0.1\n")
        .replace("listener 1880 127.0.0.1\n", f"listener {health} 127.0.0.1\n")
    )
    assert str(port) in conf and str(health) in conf
    (tmp_path / "mosquitto.conf").write_text(f"user {getpass.getuser()}\n" + conf)
    proc = subprocess.Popen(
        [MOSQUITTO, "-c", str(tmp_path / "mosquitto.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_listening(proc, port, health)
        assert _connect_code(port) != 0, "anonymous client accepted on the device listener"
        # The plugin runs with the generated file: its account gets in, with its client id only.
        assert _connect_code(port, "watcher", "watcher-secret", "watcher") == 0
        assert _connect_code(port, "watcher", "watcher-secret", "other") != 0
        assert _connect_code(health) == 0
        sub = shutil.which("mosquitto_sub")
        if sub:  # the Compose health check's own command
            check = subprocess.run(
                [
                    sub,
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(health),
                    "-t",
                    "$SYS/broker/uptime",
                    "-C",
                    "1",
                    "-W",
                    "3",
                ],
                capture_output=True,
                text=True,
                timeout=10,
            )
            assert check.returncode == 0 and "seconds" in check.stdout, check.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


def _connect_code(
    port: int, username: str | None = None, password: str | None = None, client_id: str = ""
) -> int:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    if username is not None:
        client.username_pw_set(username, password)
    result: list[int] = []
    client.on_connect = lambda c, u, f, rc, p: result.append(rc.value)
    client.connect("127.0.0.1", port)
    deadline = time.monotonic() + 5
    while not result and time.monotonic() < deadline:
        client.loop(timeout=0.1)
    client.disconnect()
    assert result, "no CONNACK"
    return result[0]
