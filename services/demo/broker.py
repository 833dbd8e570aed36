"""The demo's MQTT broker: the configured one if it answers, else a local Mosquitto started
for the demo, else an embedded Python broker (amqtt, from the `embedded` extra)."""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from energywatch.errors import SettingsError

log = logging.getLogger("demo.broker")


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    kind: str  # "configured", "mosquitto" or "embedded"

    @property
    def shared_subscriptions(self) -> bool:
        return self.kind != "embedded"  # amqtt does not implement MQTT 5 shared subscriptions


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct free ports: all are held open together, so none is handed out twice."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind((host, 0))
        return [int(s.getsockname()[1]) for s in sockets]


def speaks_mqtt5(host: str, port: int, timeout_s: float = 5.0) -> bool:
    """True unless the broker refuses an MQTT 5 CONNECT as an unsupported protocol version
    (a refusal for missing credentials still shows that it speaks MQTT 5)."""
    import paho.mqtt.client as mqtt

    answers: list[mqtt.ReasonCode] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, u, f, reason, p: answers.append(reason)
    try:
        client.connect(host, port, keepalive=10)
    except OSError:
        return False
    deadline = time.monotonic() + timeout_s
    while not answers and time.monotonic() < deadline:
        client.loop(timeout=0.1)
    client.disconnect()
    return bool(answers) and answers[0].value != 0x84  # 0x84: unsupported protocol version


def _mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )


def _wait_for(proc: subprocess.Popen[bytes], port: int, what: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not port_answers("127.0.0.1", port):
        if proc.poll() is not None:
            raise SettingsError(f"{what} exited with code {proc.returncode} before listening")
        if time.monotonic() > deadline:
            raise SettingsError(f"{what} did not listen on port {port} in {timeout_s:.0f} s")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def demo_broker(host: str, port: int, data_dir: Path) -> Iterator[Broker]:
    if port_answers(host, port):
        yield Broker(host, port, "configured")
        return
    # The configured port is free on this machine, so a local broker can take it.
    local_port = port if host in ("127.0.0.1", "localhost") else free_port()
    workdir = data_dir / "broker"
    workdir.mkdir(parents=True, exist_ok=True)
    log_file = (workdir / "broker.log").open("ab")
    mosquitto = _mosquitto_binary()
    if mosquitto:
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {local_port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {workdir}/\n"
            "max_queued_messages 1000000\n"
        )
        argv, kind = [mosquitto, "-c", str(conf)], "mosquitto"
    else:
        try:
            import amqtt  # noqa: F401
        except ImportError:
            raise SettingsError(
                f"no MQTT broker answers at {host}:{port}, Mosquitto is not installed and "
                "neither is the embedded broker: pip install 'energywatch[embedded]'"
            ) from None
        argv = [sys.executable, "-m", "services.demo.embedded_broker", str(local_port)]
        kind = "embedded"
    log.info("starting %s on 127.0.0.1:%d", kind, local_port)
    proc = subprocess.Popen(
        argv,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for(proc, local_port, kind)
        yield Broker("127.0.0.1", local_port, kind)
    finally:
        _stop(proc)
        log_file.close()
