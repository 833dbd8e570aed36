"""The broker's secret file: MQTT passwords of devices and service accounts.

The registry keeps device passwords only as argon2 hashes (for the API and audits), and
Mosquitto cannot check argon2, so the broker's own PBKDF2 hashes are made from this file:

    # /etc/energywatch/mqtt-passwords.yaml  (mode 0600, never in a repository)
    services:
      - {username: ingest, role: ingest, password: "..."}
      - {username: grafana-live, role: monitor, password: "..."}
    devices:
      TY-COKE-01/gw1: "..."          # MQTT username = "{site}/{device}"

Roles: `ingest` reads every device's readings and status and writes their `ack` topics;
`monitor` reads everything under the topic prefix. A service account may connect only with its
`client_id` (a monitor's defaults to its username); an ingest account without one may use any
client id, because each of its workers has its own (Settings.ingest_client_id).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from energywatch.errors import SettingsError

ServiceRole = Literal["ingest", "monitor"]


class ServiceAccount(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    role: ServiceRole
    password: SecretStr = Field(min_length=8)
    client_id: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.\-]+$"
    )

    @property
    def bound_client_id(self) -> str | None:
        """The only client id the broker lets this account use; None: any."""
        if self.client_id is None and self.role == "monitor":
            return self.username
        return self.client_id


class BrokerSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    services: list[ServiceAccount] = Field(default_factory=list)
    devices: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("devices")
    @classmethod
    def _device_keys(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, password in v.items():
            site, sep, device = name.partition("/")
            if not sep or not site or not device or "/" in device:
                raise ValueError(f"device key {name!r} must be 'SITE/DEVICE'")
            if len(password.get_secret_value()) < 8:
                raise ValueError(f"password of {name} is shorter than 8 characters")
        return v


def device_username(site: str, device: str) -> str:
    """The MQTT username of a device: its topic path below the prefix, unambiguous because
    site and device codes cannot contain '/'."""
    return f"{site}/{device}"


def load_broker_secrets(path: Path) -> BrokerSecrets:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SettingsError(f"cannot read broker secrets {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"broker secrets {path} are not valid YAML: {exc}") from exc
    try:
        return BrokerSecrets.model_validate(raw)
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise SettingsError(f"invalid broker secrets {path}:\n" + "\n".join(lines)) from exc
