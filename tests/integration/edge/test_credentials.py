"""Username/password and TLS against a private Mosquitto that requires both."""

from __future__ import annotations

import getpass
import logging
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.support.network import wait_listening
from services.demo.broker import free_port
from tests.integration.edge.support import collecting_with, edge_config, running_agent
from tests.support.waiting import holds_for, wait_until

pytestmark = pytest.mark.skipif(
    not (shutil.which("mosquitto_passwd") and shutil.which("openssl")),
    reason="needs mosquitto_passwd and openssl",
)


@dataclass(frozen=True)
class SecureBroker:
    plain_port: int
    tls_port: int
    ca_file: Path


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def secure_broker(tmp_path: Path) -> Iterator[SecureBroker]:
    d = tmp_path / "broker"
    d.mkdir()
    _run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=ew-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        cwd=d,
    )
    _run(
        "openssl",
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        cwd=d,
    )
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _run(
        "openssl",
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
        cwd=d,
    )
    _run("mosquitto_passwd", "-b", "-c", "passwd", "gw1", "right-password", cwd=d)
    _run("mosquitto_passwd", "-b", "passwd", "watcher", "watcher-password", cwd=d)
    plain, tls = free_port(), free_port()
    (d / "mosquitto.conf").write_text(
        f"user {getpass.getuser()}\nallow_anonymous false\npassword_file {d}/passwd\n"
        f"listener {plain} 127.0.0.1\n"
        f"listener {tls} 127.0.0.1\ncafile {d}/ca.crt\ncertfile {d}/server.crt\n"
        f"keyfile {d}/server.key\n"
    )
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen(
        [binary, "-c", str(d / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(proc, plain, tls)
        yield SecureBroker(plain, tls, d / "ca.crt")
    finally:
        proc.terminate()
        proc.wait(10)


def sim() -> dict[str, object]:
    return {
        "kind": "simulator",
        "points": [{"point": "E01", "profile": "electricity_kwh", "interval_s": 0.1}],
    }


def test_agent_publishes_over_tls_with_username_and_password(
    tmp_path: Path, secure_broker: SecureBroker, topic_prefix: str
) -> None:
    config = edge_config(
        tmp_path,
        "127.0.0.1",
        secure_broker.tls_port,
        topic_prefix,
        [sim()],
        mqtt={
            "username": "gw1",
            "password": "right-password",
            "tls": {"enabled": True, "ca_file": str(secure_broker.ca_file)},
        },
    )
    with (
        collecting_with(
            "127.0.0.1", secure_broker.plain_port, topic_prefix, ("watcher", "watcher-password")
        ) as col,
        running_agent(config),
    ):
        col.wait_for(lambda: len(col.readings()) >= 5)
    assert col.statuses[0].state == "online"


def test_wrong_password_is_refused_logged_and_retried_slowly(
    tmp_path: Path, secure_broker: SecureBroker, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = edge_config(
        tmp_path,
        "127.0.0.1",
        secure_broker.plain_port,
        topic_prefix,
        [sim()],
        mqtt={"username": "gw1", "password": "wrong-password"},
        publish={"reconnect_min_s": 0.1, "reconnect_max_s": 3.0},
    )
    with caplog.at_level(logging.ERROR, logger="edge"), running_agent(config) as agent:
        failures = agent.metrics.connect_failures._value.get
        wait_until(lambda: failures() >= 1, 10, "the first refusal")
        # After a refusal the agent waits the longest backoff (3 s), not the shortest (0.1 s):
        # 2 s without a second attempt is twenty shortest backoffs.
        holds_for(lambda: failures() == 1, 2.0, "no retry before the longest backoff")
        assert not agent.publisher.connected.is_set()
        assert agent.queue.depth > 0, "readings wait on disk meanwhile"
    assert any("refused the credentials" in r.getMessage() for r in caplog.records)
