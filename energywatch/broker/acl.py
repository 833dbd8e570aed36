"""`energywatch mqtt acl`: the broker's accounts, client ids and ACLs from the registry.

Writes one file, the configuration of Mosquitto's dynamic security plugin (energywatch/broker/
dynsec.py says why that plugin): each device publishes only under `{prefix}/{site}/{device}/#`,
reads only its own `cmd` and `ack` topics and may connect only with its own client id
(`edge_client_id`); service accounts get the topics of their role; anonymous clients get
nothing (deploy/mosquitto/mosquitto.conf sets `allow_anonymous false`). Passwords come from the
secret file named by `broker.passwords_file` (see energywatch/broker/secrets.py), checked
against the registry's argon2 hash so that the two can never disagree.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from energywatch.broker.dynsec import (
    Account,
    Acl,
    device_acls,
    dynsec_config,
    ingest_acls,
    monitor_acls,
)
from energywatch.broker.secrets import BrokerSecrets, device_username, load_broker_secrets
from energywatch.errors import SettingsError
from energywatch.protocol.client_ids import edge_client_id
from energywatch.settings import Settings

DYNSEC_FILE = "dynamic-security.json"


@dataclass(frozen=True)
class RegisteredDevice:
    site: str
    device: str
    password_hash: str | None  # argon2, from the registry

    @property
    def username(self) -> str:
        return device_username(self.site, self.device)


def checked_passwords(
    secrets: BrokerSecrets, devices: Iterable[RegisteredDevice]
) -> dict[str, str]:
    """The password of every registered device, by username.

    Raises SettingsError naming every registered device without a password in the secret
    file, every device whose password does not match the registry's hash, every device of
    the file the registry does not have, and every name that is both a service and a device.
    """
    out: dict[str, str] = {}
    problems: list[str] = []
    registered = {d.username: d for d in devices}
    for username, d in sorted(registered.items()):
        secret = secrets.devices.get(username)
        if secret is None:
            problems.append(f"device {username}: no password in the broker secret file")
            continue
        password = secret.get_secret_value()
        if d.password_hash and not _argon2_matches(d.password_hash, password):
            problems.append(f"device {username}: password differs from the registry's")
            continue
        out[username] = password
    unknown = sorted(set(secrets.devices) - set(registered))
    problems += [f"device {u}: in the secret file but not in the registry" for u in unknown]
    clash = sorted({a.username for a in secrets.services} & set(registered))
    problems += [f"{u}: both a service account and a device" for u in clash]
    if problems:
        raise SettingsError("cannot write the broker files:\n  " + "\n  ".join(problems))
    return out


def broker_accounts(
    prefix: str, secrets: BrokerSecrets, devices: Iterable[RegisteredDevice]
) -> list[Account]:
    """Services (bound to their `client_id`, ingest to none: its workers each have one) and
    devices (each bound to the client id its edge agent uses and given a role of its own)."""
    devices = list(devices)
    passwords = checked_passwords(secrets, devices)
    accounts = [
        Account(s.username, s.password.get_secret_value(), s.bound_client_id, s.role)
        for s in secrets.services
    ]
    accounts += [
        Account(
            d.username,
            passwords[d.username],
            edge_client_id(prefix, d.site, d.device),
            f"device:{d.username}",
            device_acls(prefix, d.site, d.device),
        )
        for d in devices
    ]
    return accounts


def broker_config(
    settings: Settings,
    secrets: BrokerSecrets,
    devices: Iterable[RegisteredDevice],
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    prefix = settings.mqtt.topic_prefix
    roles: dict[str, tuple[Acl, ...]] = {
        "ingest": ingest_acls(prefix, settings.ingest.share_group),
        "monitor": monitor_acls(prefix),
    }
    accounts = broker_accounts(prefix, secrets, devices)
    return dynsec_config(accounts, roles, settings.broker.pbkdf2_iterations, previous)


def registered_devices(database_url: str) -> list[RegisteredDevice]:
    from energywatch.storage.engine import make_engine
    from energywatch.storage.tables import devices, sites

    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(sites.c.code, devices.c.code, devices.c.password_hash)
                .select_from(devices.join(sites, devices.c.site_id == sites.c.id))
                .order_by(sites.c.code, devices.c.code)
            ).all()
    finally:
        engine.dispose()
    return [RegisteredDevice(site, device, hashed) for site, device, hashed in rows]


def write_broker_files(settings: Settings, out_dir: Path) -> list[Path]:
    """Write `dynamic-security.json` (mode 0600) into out_dir; return its path."""
    if settings.broker.passwords_file is None:
        raise SettingsError(
            "broker.passwords_file is not set (ENERGYWATCH_BROKER__PASSWORDS_FILE): "
            "the MQTT passwords come from that secret file"
        )
    secrets = load_broker_secrets(settings.broker.passwords_file)
    devices = registered_devices(settings.database.url)
    path = out_dir / DYNSEC_FILE
    config = broker_config(settings, secrets, devices, _read_previous(path))
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_private(path, json.dumps(config, indent=1) + "\n")
    return [path]


def _read_previous(path: Path) -> dict[str, Any]:
    """An earlier file's document, or {} if there is none or it is unreadable (then every
    password is hashed afresh, which is only slower)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _argon2_matches(password_hash: str, password: str) -> bool:
    from energywatch.storage.passwords import verify_password

    return verify_password(password_hash, password)


def _write_private(path: Path, text: str) -> None:
    """Replace the file atomically, readable by its owner only (the broker's user)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
