"""One typed settings object for every service.

Sources, highest first: keyword arguments, `ENERGYWATCH_*` environment variables (nested with
`__`, e.g. `ENERGYWATCH_MQTT__HOST`), a TOML file (`ENERGYWATCH_CONFIG` or `--config`), defaults.
Built by `load_settings()` at start-up, never at import.
"""

from __future__ import annotations

import difflib
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from energywatch.errors import SettingsError
from energywatch.protocol.client_ids import derived_installation_id, ingest_client_id

log = logging.getLogger(__name__)

# Placeholders that are fine for a demo on one machine and refused anywhere else.
DEMO_SECRET = "demo-secret-not-for-production"
# The placeholder of deploy/.env.example, refused everywhere.
CHANGE_ME = "CHANGE-ME"
MIN_SECRET_CHARS = 16

ENV_PREFIX = "ENERGYWATCH_"
# ENERGYWATCH_* variables that are not settings: read by other parts, or by tests and benchmarks.
NOT_SETTINGS = {"ENERGYWATCH_CONFIG", "ENERGYWATCH_EDGE_MQTT_PASSWORD"}
NOT_SETTINGS_PREFIXES = ("ENERGYWATCH_TEST_", "ENERGYWATCH_BENCH_", "ENERGYWATCH_SCHEMATHESIS_")


class Section(BaseModel):
    """A group of settings; an unknown key is refused, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(Section):
    url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/energywatch",
        description="libpq URL of the PostgreSQL/TimescaleDB database",
    )
    pool_size: int = Field(default=5, ge=1, le=100)
    use_timescaledb: bool | None = Field(
        default=None,
        description="None: use TimescaleDB when the extension is installed; True: require it",
    )
    compress_after_days: int = Field(default=7, ge=1)
    compress_rollups_after_days: int = Field(
        default=90,
        ge=7,
        description="TimescaleDB: compress 15-minute rollups older than this (late data that"
        " reaches further back rewrites compressed chunks, which is slower)",
    )
    retain_days: int | None = Field(default=None, ge=30, description="None keeps readings forever")
    hourly_refresh_days: int = Field(
        default=90,
        ge=1,
        description="TimescaleDB: the hourly aggregate's refresh policy covers this many days"
        " back; the rollup refreshes older hours it rewrites itself",
    )

    @field_validator("url")
    @classmethod
    def _postgres_only(cls, url: str) -> str:
        if not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            raise ValueError("must be a postgresql:// URL")
        return url


class MqttSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None
    topic_prefix: str = "ew/v1"
    keepalive_s: int = Field(default=30, ge=5)


class IngestSettings(Section):
    client_id: str | None = Field(
        default=None,
        description="MQTT client id; None: ew-ingest-{installation}-{worker}",
    )
    worker: str = Field(
        default="1",
        pattern=r"^[A-Za-z0-9_.\-]{1,32}$",
        description="tells the workers of one installation apart in the default client id",
    )
    share_group: str = "ingest"
    batch_max_readings: int = Field(default=20000, ge=1, description="while the writers are busy")
    batch_max_age_ms: int = Field(default=100, ge=1, description="once a writer is free")
    writers: int = Field(
        default=2, ge=1, le=16, description="batches committed in parallel, one connection each"
    )
    max_inflight_messages: int = Field(
        default=500, ge=1, le=65535, description="MQTT 5 receive maximum: unacked messages"
    )
    max_inflight_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024 * 1024,
        description="payload bytes received and not yet acknowledged, at most (one message"
        " more when it alone is larger); bounds memory when messages are large",
    )
    future_skew_s: int = Field(default=300, ge=0)
    metrics_port: int | None = Field(default=9101, ge=1, le=65535)
    session_expiry_s: int = Field(default=7 * 86400, ge=60, description="persistent session")
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=10.0, gt=0)
    registry_refresh_s: float = Field(default=5.0, ge=0, description="reload on a miss, at most")
    registry_max_age_s: float = Field(default=60.0, gt=0, description="reload at least this often")
    fold_marks_s: float = Field(
        default=60.0,
        gt=0,
        description="fold the dirty-bucket log this often (the rollup folds it on every pass)",
    )


class ApiSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: SecretStr = SecretStr(DEMO_SECRET)
    token_minutes: int = Field(default=60, ge=1)
    login_max_failures: int = Field(
        default=5, ge=1, description="failed logins per username in the window before 429"
    )
    login_max_failures_per_client: int = Field(
        default=20, ge=1, description="failed logins per client address in the window before 429"
    )
    login_window_s: int = Field(default=300, ge=1)
    stream_poll_s: float = Field(default=1.0, gt=0, le=60)
    stream_ticket_s: int = Field(
        default=60, ge=1, le=600, description="how long a stream ticket may open a stream"
    )
    dashboard_dir: Path | None = Field(
        default=None, description="static dashboard files; None: services/api/dashboard"
    )
    metrics_port: int | None = Field(
        default=9105,
        ge=1,
        le=65535,
        description="Prometheus metrics, on a port of their own and never on the public API port;"
        " None: not served",
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="addresses or networks of reverse proxies whose X-Forwarded-For names the"
        " client (login limits, audit log); empty: the header is ignored",
    )


class AlertingSettings(Section):
    interval_s: float = Field(
        default=5.0,
        gt=0,
        description="time-driven evaluation: `every` schedules, `for` expiry, no-data (with"
        " events off: the full cycle)",
    )
    events: bool = Field(
        default=True,
        description="evaluate at once what ingest and the rollup say changed (NOTIFY); off: the"
        " timer-driven design, a full cycle every interval_s",
    )
    sweep_s: float = Field(
        default=60.0,
        gt=0,
        description="full evaluation of every rule and subject, catching lost notifications",
    )
    rules_dir: Path | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "alerts@energywatch.invalid"
    webhook_secret: SecretStr = SecretStr(DEMO_SECRET)
    metrics_port: int | None = Field(default=9102, ge=1, le=65535)
    default_rules: bool = Field(default=True, description="load the shipped rule set too")
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_allowed_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="networks a webhook may reach although they are not public (loopback,"
        " private, link-local, ...); empty: public addresses only",
    )
    retry_max_attempts: int = Field(default=8, ge=1)
    retry_base_s: float = Field(default=2.0, gt=0)


class RollupSettings(Section):
    interval_s: float = Field(default=5.0, gt=0, description="pause between passes when idle")
    batch_points: int = Field(
        default=500, ge=1, description="the fewest points a pass claims (when that many wait)"
    )
    max_batch_points: int = Field(
        default=100_000, ge=1, description="the most points a pass claims"
    )
    pass_target_s: float = Field(
        default=10.0,
        gt=0,
        description="passes claim as many points as the measured rate gets through in this time",
    )
    lookback_hours: float = Field(
        default=2.0,
        gt=0,
        description="readings read before a recomputed range when the counter's state at its "
        "start is not known from an earlier pass",
    )
    reset_share: float = Field(default=0.1, gt=0, lt=1, description="a larger drop is a reset")
    wrap_share: float = Field(default=0.5, gt=0, le=1, description="largest plausible wrap")
    metrics_port: int | None = Field(default=9103, ge=1, le=65535)


class BrokerSettings(Section):
    passwords_file: Path | None = Field(
        default=None,
        description="secret YAML file with the MQTT passwords of devices and services, read by "
        "`energywatch mqtt acl` (see docs/operations.md); never commit it",
    )
    pbkdf2_iterations: int = Field(default=1000, ge=101, le=1_000_000)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ENERGYWATCH_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    demo: bool = Field(default=False, description="allows the built-in demo credentials")
    installation_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.\-]{1,32}$",
        description="part of the default MQTT client ids that keeps installations sharing a "
        "broker apart; None: a hash of the database (host, port, name) and the topic prefix",
    )
    log_level: str = "INFO"
    database: DatabaseSettings = DatabaseSettings()
    mqtt: MqttSettings = MqttSettings()
    ingest: IngestSettings = IngestSettings()
    api: ApiSettings = ApiSettings()
    alerting: AlertingSettings = AlertingSettings()
    rollup: RollupSettings = RollupSettings()
    broker: BrokerSettings = BrokerSettings()

    @property
    def ingest_client_id(self) -> str:
        """The ingest worker's MQTT client id: restart-stable, unique per installation."""
        if self.ingest.client_id:
            return self.ingest.client_id
        installation = self.installation_id or derived_installation_id(
            self.database.url, self.mqtt.topic_prefix
        )
        return ingest_client_id(installation, self.ingest.worker)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        return tuple(sources)


def env_name(loc: tuple[str | int, ...]) -> str:
    return ENV_PREFIX + "__".join(str(p) for p in loc).upper()


def setting_names() -> dict[str, str]:
    """Every setting, as its environment variable mapped to its dotted name."""
    names: dict[str, str] = {}
    for name, field in Settings.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            names[env_name((name,))] = name  # a whole section as JSON
            for sub in section.model_fields:
                names[env_name((name, sub))] = f"{name}.{sub}"
        else:
            names[env_name((name,))] = name
    return names


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One warning per `ENERGYWATCH_*` variable that no setting reads, with the nearest name."""
    known = setting_names()
    sections = {n + "__" for n, dotted in known.items() if "." not in dotted}
    warnings = []
    for variable in sorted(environ):
        upper = variable.upper()
        if (
            not upper.startswith(ENV_PREFIX)
            or upper in known
            or upper in NOT_SETTINGS
            or upper.startswith(NOT_SETTINGS_PREFIXES)
            or upper.startswith(tuple(sections))  # an unknown key there is a settings error
        ):
            continue
        message = f"{variable} is not a setting and is ignored"
        if near := difflib.get_close_matches(upper, known, n=1, cutoff=0.6):
            message += f"; did you mean {near[0]}?"
        warnings.append(message)
    return warnings


def _nearest(loc: tuple[str | int, ...]) -> str:
    """`; did you mean X?` for an unknown key at `loc`, or nothing."""
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        annotation = (
            model.model_fields[str(part)].annotation if part in model.model_fields else None
        )
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    near = difflib.get_close_matches(str(loc[-1]), model.model_fields, n=1, cutoff=0.6)
    return f"; did you mean {'.'.join([*map(str, loc[:-1]), near[0]])}?" if near else ""


def _problem(err: Any) -> str:
    loc = tuple(err["loc"])
    if not loc:
        return str(err["msg"])
    where = ".".join(str(p) for p in loc)
    if err["type"] == "extra_forbidden":
        return f"{where} ({env_name(loc)}) is not a setting{_nearest(loc)}"
    return f"{where} ({env_name(loc)}): {err['msg']}"


def require_secrets(settings: Settings, *names: str) -> None:
    """Refuse placeholder or short secrets among `names` (dotted), every problem in one error.

    Only the commands that use a secret ask for it: `db upgrade` needs no API secret."""
    if settings.demo:
        return
    problems = []
    for name in names:
        section, field = name.split(".")
        value: SecretStr = getattr(getattr(settings, section), field)
        secret = value.get_secret_value()
        variable = env_name((section, field))
        if secret == DEMO_SECRET:
            problems.append(f"{name} ({variable}) is the built-in demo secret")
        elif CHANGE_ME in secret:
            problems.append(f"{name} ({variable}) is still the CHANGE-ME placeholder")
        elif len(secret) < MIN_SECRET_CHARS:
            problems.append(f"{name} ({variable}) is shorter than {MIN_SECRET_CHARS} characters")
    if problems:
        fix = "set a random value (python3 -c 'import secrets; print(secrets.token_urlsafe())')"
        if any("demo secret" in p for p in problems):
            fix += " (or run with ENERGYWATCH_DEMO=1 on a demo machine)"
        raise SettingsError("; ".join(problems) + f" — {fix}")


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings, turning validation errors into one readable message."""
    if config_file is None and (env_path := os.environ.get("ENERGYWATCH_CONFIG")):
        config_file = Path(env_path)
    cls: type[Settings] = Settings
    if config_file is not None:
        if not config_file.is_file():
            raise SettingsError(f"config file {config_file} does not exist")
        config = SettingsConfigDict(**{**Settings.model_config, "toml_file": config_file})
        cls = type("Settings", (Settings,), {"model_config": config})
    for warning in unknown_variables(os.environ):
        log.warning(warning)
    try:
        return cls(**overrides)
    except tomllib.TOMLDecodeError as exc:  # the message ends with "(at line L, column C)"
        raise SettingsError(f"config file {config_file} is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        problems = [_problem(err) for err in exc.errors()]
        if len(problems) == 1:
            raise SettingsError(f"invalid setting {problems[0]}") from exc
        raise SettingsError("invalid settings:\n" + "\n".join(f"  {p}" for p in problems)) from exc
