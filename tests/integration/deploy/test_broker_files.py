"""`energywatch mqtt acl` output, checked by the real Mosquitto: passwords and ACLs."""

from __future__ import annotations

import getpass
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml

from energywatch.broker import passwd
from energywatch.broker.acl import write_broker_files
from energywatch.errors import SettingsError
from energywatch.settings import BrokerSettings, DatabaseSettings, MqttSettings, Settings
from energywatch.storage.engine import make_engine
from energywatch.storage.registry import import_registry_file
from tests.support.services import free_port, wait_listening
from tests.support.waiting import holds_for, wait_until

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")
PREFIX = "ew/v1"

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
    "services": [{"username": "ingest", "role": "ingest", "password": "ingest-secret"}],
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
    passwd_path, acl_path = write_broker_files(settings, out)
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed")
    port = free_port()
    confdir = Path(tempfile.mkdtemp(prefix="ew-acl-"))
    conf = confdir / "mosquitto.conf"
    conf.write_text(
        # `user`: as root, Mosquitto would drop to user "mosquitto", which cannot read the
        # owner-only files; keeping the invoking user mirrors `chown mosquitto` in production.
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {passwd_path}\nacl_file {acl_path}\n"
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
    """A paho client that records its connect result and the messages it receives."""

    def __init__(self, port: int, username: str | None, password: str | None) -> None:
        self.connected = threading.Event()
        self.reason: mqtt.ReasonCode | None = None
        self.messages: list[tuple[str, bytes | bytearray]] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))
        self.client.on_subscribe = lambda c, u, mid, codes, props: self.subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.reason = reason_code
        self.connected.set()

    def accepted(self) -> bool:
        assert self.connected.wait(5), "no CONNACK"
        assert self.reason is not None
        return not self.reason.is_failure

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_mosquitto_enforces_generated_passwords_and_acls(secured_broker: int) -> None:
    port = secured_broker
    clients: list[Client] = []

    def client(username: str | None, password: str | None) -> Client:
        c = Client(port, username, password)
        clients.append(c)
        return c

    try:
        assert not client(None, None).accepted(), "anonymous client was let in"
        assert not client("S1/gw1", "wrong-password").accepted()
        assert not client("nobody", "device-1-secret").accepted()

        ingest = client("ingest", "ingest-secret")
        assert ingest.accepted()
        ingest.client.subscribe(f"$share/ingest/{PREFIX}/+/+/readings", qos=1)
        assert ingest.subscribed.wait(5)

        device = client("S1/gw1", "device-1-secret")
        assert device.accepted()
        device.publish(f"{PREFIX}/S1/gw1/readings", b"own")
        device.publish(f"{PREFIX}/S2/gw1/readings", b"spoofed")  # another device's topic
        other = client("S2/gw1", "device-2-secret")
        assert other.accepted()
        other.publish(f"{PREFIX}/S2/gw1/readings", b"other-own")

        wait_until(lambda: len(ingest.messages) >= 2, 5, "the two allowed messages")
        # The spoofed message was published before the allowed ones, on the same local broker:
        # had the ACL let it through it would be here already; a second leaves room for a
        # loaded machine.
        holds_for(lambda: len(ingest.messages) == 2, 1.0, "no spoofed message")
        payloads = sorted(p for _, p in ingest.messages)
        assert payloads == [b"other-own", b"own"]
    finally:
        for c in clients:
            c.close()


def test_regeneration_keeps_unchanged_hashes(broker_files: tuple[Settings, Path]) -> None:
    settings, out = broker_files
    passwd_path, acl_path = write_broker_files(settings, out)
    first = passwd_path.read_text()
    assert oct(passwd_path.stat().st_mode & 0o777) == "0o600"
    write_broker_files(settings, out)
    assert passwd_path.read_text() == first
    acl = acl_path.read_text()
    assert f"user S1/gw1\ntopic write {PREFIX}/S1/gw1/#\ntopic read {PREFIX}/S1/gw1/cmd" in acl
    assert f"user ingest\ntopic read {PREFIX}/+/+/readings" in acl


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
    assert not (out / "passwd").exists()
