"""The edge agent's configuration: one YAML file, validated on load.

See docs/edge.md for a working example of each driver.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta, timezone
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from edge.codecs import dlt645
from energywatch.errors import SettingsError
from energywatch.protocol.topics import DEFAULT_PREFIX, check_code

PASSWORD_ENV = "ENERGYWATCH_EDGE_MQTT_PASSWORD"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsConfig(_Model):
    enabled: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = Field(
        default=None, description="client certificate, if the broker asks"
    )
    key_file: Path | None = None
    insecure: bool = Field(default=False, description="skip the host name check (test rigs only)")


class MqttConfig(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    client_id: str | None = None
    username: str | None = None
    password: SecretStr | None = Field(
        default=None, description=f"better given by the {PASSWORD_ENV} environment variable"
    )
    tls: TlsConfig = TlsConfig()
    topic_prefix: str = DEFAULT_PREFIX
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    connect_timeout_s: float = Field(default=10.0, gt=0)


class QueueConfig(_Model):
    path: Path = Path("edge-queue.sqlite")
    capacity_readings: int = Field(
        default=5_000_000, ge=1, description="disk bound: about 30-40 bytes per reading"
    )
    warn_fill: float = Field(default=0.8, gt=0, le=1)
    synchronous: Literal["full", "normal"] = "full"


class PublishConfig(_Model):
    batch_max_readings: int = Field(default=500, ge=1, le=10_000)
    inflight_window: int = Field(default=20, ge=1, le=1000)
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=60.0, gt=0)
    status_interval_s: float = Field(default=60.0, gt=0)
    drain_s: float = Field(
        default=5.0, ge=0, description="on a clean stop, time to publish what is still queued"
    )
    confirm: Literal["commit", "puback"] = Field(
        default="commit",
        description="delete queued readings when ingest confirms their commit (commit) or when"
        " the broker acknowledges them (puback: for servers that send no confirmations; a"
        " broker restart can then lose readings)",
    )
    confirm_timeout_s: float = Field(
        default=30.0, gt=0, description="re-send unconfirmed messages after this long"
    )


class PointBase(_Model):
    point: str = Field(min_length=1, max_length=64)
    interval_s: float = Field(default=60.0, gt=0)
    unit: str | None = Field(default=None, max_length=16)


# -- simulator ---------------------------------------------------------------------------

SimProfile = Literal[
    "electricity_kwh",
    "electricity_kw",
    "gas_m3",
    "steam_t",
    "coal_t",
    "product_t",
    "co2_ppm",
    "ch4_ppb",
    "co_ppb",
    "so2_mg_m3",
    "nox_mg_m3",
    "pm_mg_m3",
    "o2_pct",
    "flue_gas_flow_m3h",
    "flue_gas_temp_c",
]


class SimPointConfig(PointBase):
    profile: SimProfile
    scale: float = Field(default=1.0, gt=0, description="multiplies the profile's typical size")
    rollover: float | None = Field(default=None, gt=0, description="register wraps at this value")
    resets_per_day: float = Field(default=0.0, ge=0)
    faults_per_day: float = Field(default=0.0, ge=0)


class SimulatorDriverConfig(_Model):
    kind: Literal["simulator"]
    name: str = "simulator"
    seed: int = 1
    points: list[SimPointConfig] = Field(min_length=1)


# -- Modbus TCP --------------------------------------------------------------------------

ModbusType = Literal["uint16", "int16", "uint32", "int32", "uint64", "int64", "float32", "float64"]


class ModbusPointConfig(PointBase):
    address: int = Field(ge=0, le=65535)
    table: Literal["holding", "input"] = Field(default="holding", description="register table")
    type: ModbusType = "uint16"
    word_order: Literal["big", "little"] = Field(
        default="big", description="big: the first register holds the most significant word"
    )
    scale: float = 1.0
    offset: float = 0.0
    unit_id: int | None = Field(default=None, ge=0, le=255, description="overrides the driver's")


class ModbusDriverConfig(_Model):
    kind: Literal["modbus"]
    name: str = "modbus"
    host: str
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=255)
    timeout_s: float = Field(default=3.0, gt=0)
    points: list[ModbusPointConfig] = Field(min_length=1)


# -- DL/T 645-2007 -----------------------------------------------------------------------


class Dlt645PointConfig(PointBase):
    identifier: str = Field(description="data identifier DI3..DI0 in hex, e.g. 00010000")
    scale: float = 1.0

    @field_validator("identifier")
    @classmethod
    def _hex8(cls, v: str) -> str:
        if not re.fullmatch(r"[0-9A-Fa-f]{8}", v):
            raise ValueError("identifier must be 8 hex digits, e.g. 00010000")
        dlt645.value_format(int(v, 16))  # an identifier the driver cannot decode fails here
        return v.upper()

    @model_validator(mode="after")
    def _unit_of_identifier(self) -> Dlt645PointConfig:
        # Without scaling, the unit is the identifier's: kWh stated for a voltage is a typo.
        own = dlt645.value_format(int(self.identifier, 16)).unit
        if self.unit and own and self.scale == 1.0 and self.unit != own:
            raise ValueError(f"identifier {self.identifier} is in {own}, not {self.unit}")
        return self


class Dlt645MeterConfig(_Model):
    address: str = Field(description="12-digit meter address as printed on the meter")
    points: list[Dlt645PointConfig] = Field(min_length=1)

    @field_validator("address")
    @classmethod
    def _digits12(cls, v: str) -> str:
        if not re.fullmatch(r"[0-9A]{12}", v.upper()):
            raise ValueError("meter address must be 12 decimal digits (A for wildcard)")
        return v.upper()


class Dlt645DriverConfig(_Model):
    kind: Literal["dlt645"]
    name: str = "dlt645"
    host: str = Field(description="serial-to-TCP converter")
    port: int = Field(ge=1, le=65535)
    timeout_s: float = Field(default=2.0, gt=0)
    wakeup: bool = Field(default=True, description="send FE FE FE FE before each request")
    meters: list[Dlt645MeterConfig] = Field(min_length=1)


# -- HJ 212-2017 -------------------------------------------------------------------------


class Hj212PointConfig(_Model):
    point: str = Field(min_length=1, max_length=64)
    code: str = Field(description="pollutant code, e.g. a21026 (SO2)")
    cn: Literal[2011, 2051, 2061, 2031] = 2011
    field: str | None = Field(default=None, description="Rtd for CN 2011, Avg otherwise")
    unit: str | None = Field(default=None, max_length=16)

    @property
    def value_field(self) -> str:
        return self.field or ("Rtd" if self.cn == 2011 else "Avg")


class Hj212LoggerConfig(_Model):
    mn: str = Field(min_length=1, max_length=24, description="the data logger's MN")
    password: SecretStr | None = Field(default=None, description="PW the logger must send")
    points: list[Hj212PointConfig] = Field(min_length=1)


class Hj212DriverConfig(_Model):
    kind: Literal["hj212"]
    name: str = "hj212"
    listen_host: str = "0.0.0.0"
    listen_port: int = Field(default=9212, ge=0, le=65535)
    loggers: list[Hj212LoggerConfig] = Field(min_length=1)


DriverConfig = Annotated[
    SimulatorDriverConfig | ModbusDriverConfig | Dlt645DriverConfig | Hj212DriverConfig,
    Field(discriminator="kind"),
]


class EdgeConfig(_Model):
    site: str
    device: str = Field(description="this gateway's device code: the topic it publishes under")
    utc_offset: str = Field(
        default="+08:00", description="offset of published timestamps and of device clocks"
    )
    device_clock_ahead_s: float = Field(
        default=86_400.0,
        ge=0,
        description="readings timestamped further ahead of this gateway's clock are refused"
        " (as are readings before 2000-01-01)",
    )
    mqtt: MqttConfig = MqttConfig()
    queue: QueueConfig = QueueConfig()
    publish: PublishConfig = PublishConfig()
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    drivers: list[DriverConfig] = Field(min_length=1)

    @field_validator("site", "device")
    @classmethod
    def _code(cls, v: str) -> str:
        return check_code("site/device", v)

    @field_validator("utc_offset")
    @classmethod
    def _offset(cls, v: str) -> str:
        parse_offset(v)
        return v

    @property
    def tz(self) -> timezone:
        return parse_offset(self.utc_offset)

    def all_point_codes(self) -> list[str]:
        codes: list[str] = []
        for d in self.drivers:
            if isinstance(d, Dlt645DriverConfig):
                codes += [p.point for m in d.meters for p in m.points]
            elif isinstance(d, Hj212DriverConfig):
                codes += [p.point for lg in d.loggers for p in lg.points]
            else:
                codes += [p.point for p in d.points]
        return codes

    def units(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for d in self.drivers:
            if isinstance(d, Dlt645DriverConfig):
                pts: list[PointBase | Hj212PointConfig] = [p for m in d.meters for p in m.points]
            elif isinstance(d, Hj212DriverConfig):
                pts = [p for lg in d.loggers for p in lg.points]
            else:
                pts = list(d.points)
            out.update({p.point: p.unit for p in pts if p.unit})
        return out


def parse_offset(text: str) -> timezone:
    m = re.fullmatch(r"([+-])(\d{2}):(\d{2})", text)
    if not m:
        raise ValueError(f"UTC offset {text!r} must look like +08:00")
    minutes = int(m[2]) * 60 + int(m[3])
    return timezone((-1 if m[1] == "-" else 1) * timedelta(minutes=minutes))


def load_config(path: Path) -> EdgeConfig:
    """Read and validate the YAML file; every problem is reported in one SettingsError."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read edge config {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"edge config {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise SettingsError(f"edge config {path} must be a mapping")
    password = os.environ.get(PASSWORD_ENV)
    if password:
        raw.setdefault("mqtt", {})["password"] = password
    try:
        config = EdgeConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        ]
        raise SettingsError(f"invalid edge config {path}:\n" + "\n".join(lines)) from exc
    duplicates = {c for c in config.all_point_codes() if config.all_point_codes().count(c) > 1}
    if duplicates:
        raise SettingsError(f"edge config {path}: point codes used twice: {sorted(duplicates)}")
    return config
