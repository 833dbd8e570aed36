"""`energywatch mqtt acl` output, checked by the real Mosquitto with its dynamic security
plugin: passwords, ACLs checked at SUBSCRIBE, client ids bound to their accounts."""

from __future__ import annotations

import getpass
import json
import logging
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml

from benchmarks.support.network import wait_listening
from energywatch.broker import passwd
from energywatch.broker.acl import write_broker_files
from energywatch.errors import SettingsError
from energywatch.protocol.client_ids import edge_client_id
from energywatch.settings import BrokerSettings, DatabaseSettings, MqttSettings, Settings
from energywatch.storage.engine import make_engine
from energywatch.storage.registry import import_registry_file
from services.demo.broker import free_port
from tests.integration.edge.support import edge_config, running_agent
from tests.integration.ingest.harness import IngestProcess, count, stream
from tests.support.services import BrokerAddress, dynsec_plugin
from tests.support.waiting import holds_for, wait_until

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")
PLUGIN = dynsec_plugin()
PREFIX = "ew/v1"
S1_ID, S2_ID = (edge_client_id(PREFIX, f"S{i}", "gw1") for i in (1, 2))
INGEST_ID = "ew-ingest-test-1"

REGISTRY = {
    "sites": [
        {
            "code": f"S{i}",
            "name": f"Site {i}",
            "kind": "station",
            "division_code": "140105",
            "devices": [
                {
                    "code": "gw1",
                    "protocol": "mqtt",
                    "password": f"device-{i}-secret",
                    "points": [
                        {
                            "code": "CO2",
                            "measure": "co2_ambient",
                            "unit": "ppm",
                            "kind": "instantaneous",
                            "role": "ambient",
                        }
                    ],
                }
            ],
        }
        for i in (1, 2)
    ]
}
SECRETS = {
    "services": [
        {"username": "ingest", "role": "ingest", "password": "ingest-secret"},
        {"username": "grafana-live", "role": "monitor", "password": "monitor-secret"},
    ],
    "devices": {"S1/gw1": "device-1-secret", "S2/gw1": "device-2-secret"},
}


def test_own_hash_verifies_and_roundtrips() -> None:
    hashed = passwd.hash_password("s3cret-pass", iterations=101)
    assert hashed.startswith("$7$101$")
    assert passwd.verify_password(hashed, "s3cret-pass")
    assert not passwd.verify_password(hashed, "s3cret-pasS")
    assert not passwd.verify_password("$argon2id$v=19$m=1$abc$def", "s3cret-pass")


@pytest.mark.skipif(MOSQUITTO_PASSWD is None, reason="mosquitto_passwd is not installed")
def test_hash_of_mosquitto_passwd_verifies(tmp_path: Path) -> None:
    pwfile = tmp_path / "pw"
    subprocess.run(
        [str(MOSQUITTO_PASSWD), "-b", "-c", str(pwfile), "alice", "wonder-land"], check=True
    )
    hashed = pwfile.read_text().strip().split(":", 1)[1]
    assert hashed.startswith("$7$")
    assert passwd.verify_password(hashed, "wonder-land")
    assert not passwd.verify_password(hashed, "wonder-lamd")


def _settings(db_url: str, secrets_file: Path) -> Settings:
    return Settings(
        demo=True,
        database=DatabaseSettings(url=db_url),
        mqtt=MqttSettings(topic_prefix=PREFIX),
        broker=BrokerSettings(passwords_file=secrets_file, pbkdf2_iterations=1000),
    )


@pytest.fixture
def broker_files(db_url: str, tmp_path: Path) -> tuple[Settings, Path]:
    registry = tmp_path / "registry.yaml"
    registry.write_text(yaml.safe_dump(REGISTRY))
    engine = make_engine(db_url)
    try:
        import_registry_file(engine, registry)
    finally:
        engine.dispose()
    secrets_file = tmp_path / "secrets.yaml"
    secrets_file.write_text(yaml.safe_dump(SECRETS))
    return _settings(db_url, secrets_file), tmp_path / "broker"


@pytest.fixture
def secured_broker(broker_files: tuple[Settings, Path]) -> Iterator[int]:
    settings, out = broker_files
    (dynsec_path,) = write_broker_files(settings, out)
    if not Path(MOSQUITTO).exists() or PLUGIN is None:
        pytest.skip("mosquitto or its dynamic security plugin is not installed")
    port = free_port()
    confdir = Path(tempfile.mkdtemp(prefix="ew-acl-"))
    conf = confdir / "mosquitto.conf"
    conf.write_text(
        # `user`: as root, Mosquitto would drop to user "mosquitto", which cannot read the
        # owner-only file; keeping the invoking user mirrors `chown mosquitto` in production.
        f"user {getpass.getuser()}\nper_listener_settings true\n"
        f"listener {port} 127.0.0.1\nallow_anonymous false\n"
        f"plugin {PLUGIN}\nplugin_opt_config_file {dynsec_path}\n"
    )
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        wait_listening(proc, port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stderr is not None
        proc.stderr.close()
        shutil.rmtree(confdir, ignore_errors=True)


class Client:
    """A paho client that records its connect result, disconnections, subscription results
    and the messages it receives."""

    def __init__(
        self, port: int, username: str | None, password: str | None, client_id: str = ""
    ) -> None:
        self.connected = threading.Event()
        self.reason: mqtt.ReasonCode | None = None
        self.disconnects: list[mqtt.ReasonCode] = []
        self.messages: list[tuple[str, bytes | bytearray]] = []
        self.subscribed = threading.Event()
        self.suback: list[mqtt.ReasonCode] = []
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda c, u, f, reason, p: self.disconnects.append(reason)
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))
        self.client.on_subscribe = self._on_subscribe
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.reason = reason_code
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self.suback = list(reason_codes)
        self.subscribed.set()

    def accepted(self) -> bool:
        assert self.connected.wait(5), "no CONNACK"
        assert self.reason is not None
        return not self.reason.is_failure

    def subscribe(self, topic: str) -> bool:
        """True if the broker granted the subscription."""
        self.subscribed.clear()
        self.client.subscribe(topic, qos=1)
        assert self.subscribed.wait(5), "no SUBACK"
        return not any(r.is_failure for r in self.suback)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def still_connected(self) -> bool:
        """A QoS 1 round trip on this connection: True only if it is alive and never dropped."""
        info = self.client.publish("$nothing/ping", b"", qos=1)
        info.wait_for_publish(5)
        return info.is_published() and self.client.is_connected() and not self.disconnects

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def clients(secured_broker: int) -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def client(username: str | None, password: str | None, client_id: str = "") -> Client:
        c = Client(secured_broker, username, password, client_id)
        made.append(c)
        return c

    try:
        yield client
    finally:
        for c in made:
            c.close()


def test_mosquitto_enforces_generated_passwords_and_acls(
    clients: Callable[..., Client],
) -> None:
    assert not clients(None, None).accepted(), "anonymous client was let in"
    assert not clients("S1/gw1", "wrong-password", S1_ID).accepted()
    assert not clients("nobody", "device-1-secret", S1_ID).accepted()

    ingest = clients("ingest", "ingest-secret", INGEST_ID)
    assert ingest.accepted()
    assert ingest.subscribe(f"$share/ingest/{PREFIX}/+/+/readings")

    device = clients("S1/gw1", "device-1-secret", S1_ID)
    assert device.accepted()
    device.publish(f"{PREFIX}/S1/gw1/readings", b"own")
    device.publish(f"{PREFIX}/S2/gw1/readings", b"spoofed")  # another device's topic
    other = clients("S2/gw1", "device-2-secret", S2_ID)
    assert other.accepted()
    other.publish(f"{PREFIX}/S2/gw1/readings", b"other-own")

    wait_until(lambda: len(ingest.messages) >= 2, 5, "the two allowed messages")
    # The spoofed message was published before the allowed ones, on the same local broker:
    # had the ACL let it through it would be here already; a second leaves room for a loaded
    # machine.
    holds_for(lambda: len(ingest.messages) == 2, 1.0, "no spoofed message")
    assert ingest.still_connected()
    payloads = sorted(p for _, p in ingest.messages)
    assert payloads == [b"other-own", b"own"]


def test_devices_read_only_their_own_cmd_and_ack_topics(clients: Callable[..., Client]) -> None:
    ingest = clients("ingest", "ingest-secret", INGEST_ID)
    device = clients("S1/gw1", "device-1-secret", S1_ID)
    assert ingest.accepted() and device.accepted()
    assert device.subscribe(f"{PREFIX}/S1/gw1/ack")
    assert device.subscribe(f"{PREFIX}/S1/gw1/cmd")
    for refused in (
        f"$share/ingest/{PREFIX}/+/+/readings",
        f"{PREFIX}/+/+/readings",
        f"{PREFIX}/S2/gw1/ack",
        f"{PREFIX}/S1/gw1/+",
        f"{PREFIX}/#",
    ):
        assert not device.subscribe(refused), refused
    # Only the server writes a device's ack and cmd topics: the device's own are refused (its
    # PUBACK comes back before ingest publishes, so a forged ack would be delivered first).
    device.publish(f"{PREFIX}/S1/gw1/ack", b"forged")
    device.publish(f"{PREFIX}/S1/gw1/cmd", b"forged")
    ingest.publish(f"{PREFIX}/S1/gw1/ack", b"committed")
    wait_until(lambda: bool(device.messages), 5, "the ack to reach the device")
    assert device.still_connected()
    assert device.messages == [(f"{PREFIX}/S1/gw1/ack", b"committed")]


def test_rogue_share_subscription_is_refused_and_ingest_stores_every_reading(
    broker_files: tuple[Settings, Path], secured_broker: int, clients: Callable[..., Client]
) -> None:
    settings, _ = broker_files
    rogue = clients("S2/gw1", "device-2-secret", S2_ID)
    assert rogue.accepted()
    assert not rogue.subscribe(f"$share/ingest/{PREFIX}/+/+/readings"), "SUBACK granted"
    ingest = IngestProcess(
        settings.database.url, BrokerAddress("127.0.0.1", secured_broker), PREFIX
    )
    ingest.env.update(
        {"ENERGYWATCH_MQTT__USERNAME": "ingest", "ENERGYWATCH_MQTT__PASSWORD": "ingest-secret"}
    )
    ingest.start()
    try:
        device = clients("S1/gw1", "device-1-secret", S1_ID)
        assert device.accepted()
        for payload in stream(["CO2"], n_messages=40, per_message=1):
            device.publish(f"{PREFIX}/S1/gw1/readings", payload)
        wait_until(lambda: count(settings.database.url) >= 40, 30, "ingest to store 40 readings")
        assert count(settings.database.url) == 40
        assert rogue.messages == []
    finally:
        assert ingest.stop() == 0, ingest.output()


def test_client_ids_are_bound_to_their_accounts(clients: Callable[..., Client]) -> None:
    ingest = clients("ingest", "ingest-secret", INGEST_ID)
    s1 = clients("S1/gw1", "device-1-secret", S1_ID)
    assert ingest.accepted() and s1.accepted()

    intruder = clients("S2/gw1", "device-2-secret", INGEST_ID)
    assert not intruder.accepted(), "a device connected with ingest's client id"
    assert intruder.reason is not None and intruder.reason.value == 135  # not authorized
    assert ingest.still_connected(), "ingest lost its connection"

    assert not clients("S2/gw1", "device-2-secret", S1_ID).accepted()
    assert not clients("S2/gw1", "device-2-secret", "").accepted()  # a broker-assigned id
    assert not clients("grafana-live", "monitor-secret", INGEST_ID).accepted()
    assert s1.still_connected(), "a device lost its connection to another device"
    assert clients("grafana-live", "monitor-secret", "grafana-live").accepted()


SIMULATOR = {
    "kind": "simulator",
    "points": [{"point": "CO2", "profile": "electricity_kwh", "interval_s": 0.1}],
}


def test_edge_agents_connect_with_their_default_client_id_only(
    tmp_path: Path,
    secured_broker: int,
    clients: Callable[..., Client],
    caplog: pytest.LogCaptureFixture,
) -> None:
    watcher = clients("ingest", "ingest-secret", INGEST_ID)
    assert watcher.accepted() and watcher.subscribe(f"{PREFIX}/+/+/readings")
    own = edge_config(
        tmp_path / "s1",
        "127.0.0.1",
        secured_broker,
        PREFIX,
        [SIMULATOR],
        mqtt={"username": "S1/gw1", "password": "device-1-secret"},
    )
    impostor = edge_config(
        tmp_path / "s2",
        "127.0.0.1",
        secured_broker,
        PREFIX,
        [SIMULATOR],
        site="S2",
        mqtt={"username": "S2/gw1", "password": "device-2-secret", "client_id": S1_ID},
    )
    (tmp_path / "s1").mkdir()
    (tmp_path / "s2").mkdir()
    with (
        caplog.at_level(logging.ERROR, logger="edge"),
        running_agent(own) as agent,
        running_agent(impostor) as other,
    ):
        wait_until(lambda: len(watcher.messages) >= 3, 15, "the agent's readings")
        wait_until(lambda: other.metrics.connect_failures._value.get() >= 1, 15, "a refusal")
        assert agent.publisher.connected.is_set()
        assert not other.publisher.connected.is_set()
        assert agent.metrics.connects._value.get() == 1, "the agent was kicked off"
    assert {t for t, _ in watcher.messages} == {f"{PREFIX}/S1/gw1/readings"}
    assert "broker refused the credentials (reason 135)" in caplog.text


def test_regeneration_keeps_unchanged_hashes(broker_files: tuple[Settings, Path]) -> None:
    settings, out = broker_files
    (path,) = write_broker_files(settings, out)
    first = path.read_text()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    write_broker_files(settings, out)
    assert path.read_text() == first
    doc = json.loads(first)
    by_name = {c["username"]: c for c in doc["clients"]}
    assert by_name["S1/gw1"]["clientid"] == S1_ID
    assert "clientid" not in by_name["ingest"]
    assert by_name["grafana-live"]["clientid"] == "grafana-live"
    hashed = by_name["S1/gw1"]
    assert passwd.verify_password(
        f"$7${hashed['iterations']}${hashed['salt']}${hashed['password']}", "device-1-secret"
    )


def test_missing_or_wrong_device_password_is_refused(
    broker_files: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, out = broker_files
    assert settings.broker.passwords_file is not None
    bad = {**SECRETS, "devices": {"S1/gw1": "not-the-registry-one"}}
    settings.broker.passwords_file.write_text(yaml.safe_dump(bad))
    with pytest.raises(SettingsError) as exc:
        write_broker_files(settings, out)
    message = str(exc.value)
    assert "S1/gw1: password differs from the registry's" in message
    assert "S2/gw1: no password" in message
    assert not out.exists()
