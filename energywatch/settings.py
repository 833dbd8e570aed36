"""One typed settings object for every service.

Sources, highest first: keyword arguments, `ENERGYWATCH_*` environment variables (nested with
`__`, e.g. `ENERGYWATCH_MQTT__HOST`), a TOML file (`ENERGYWATCH_CONFIG` or `--config`), defaults.
Built by `load_settings()` at start-up, never at import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from energywatch.errors import SettingsError

# Placeholders that are fine for a demo on one machine and refused anywhere else.
DEMO_SECRET = "demo-secret-not-for-production"


class DatabaseSettings(BaseModel):
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

    @field_validator("url")
    @classmethod
    def _postgres_only(cls, url: str) -> str:
        if not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            raise ValueError("must be a postgresql:// URL")
        return url


class MqttSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None
    topic_prefix: str = "ew/v1"
    keepalive_s: int = Field(default=30, ge=5)


class IngestSettings(BaseModel):
    client_id: str = "energywatch-ingest-1"
    share_group: str = "ingest"
    batch_max_readings: int = Field(default=20000, ge=1, description="while the writers are busy")
    batch_max_age_ms: int = Field(default=100, ge=1, description="once a writer is free")
    writers: int = Field(
        default=2, ge=1, le=16, description="batches committed in parallel, one connection each"
    )
    max_inflight_messages: int = Field(
        default=500, ge=1, le=65535, description="MQTT 5 receive maximum: unacked messages"
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


class ApiSettings(BaseModel):
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
    trusted_proxies: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="addresses or networks of reverse proxies whose X-Forwarded-For names the"
        " client (login limits, audit log); empty: the header is ignored",
    )


class AlertingSettings(BaseModel):
    interval_s: float = Field(default=5.0, gt=0)
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


class RollupSettings(BaseModel):
    interval_s: float = Field(default=5.0, gt=0, description="pause between passes when idle")
    batch_points: int = Field(default=500, ge=1, description="points recomputed per pass")
    lookback_hours: float = Field(
        default=2.0, gt=0, description="readings read before a recomputed range (counter state)"
    )
    reset_share: float = Field(default=0.1, gt=0, lt=1, description="a larger drop is a reset")
    wrap_share: float = Field(default=0.5, gt=0, le=1, description="largest plausible wrap")
    metrics_port: int | None = Field(default=9103, ge=1, le=65535)


class BrokerSettings(BaseModel):
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
    log_level: str = "INFO"
    database: DatabaseSettings = DatabaseSettings()
    mqtt: MqttSettings = MqttSettings()
    ingest: IngestSettings = IngestSettings()
    api: ApiSettings = ApiSettings()
    alerting: AlertingSettings = AlertingSettings()
    rollup: RollupSettings = RollupSettings()
    broker: BrokerSettings = BrokerSettings()

    @model_validator(mode="after")
    def _no_demo_secrets_in_production(self) -> Settings:
        if self.demo:
            return self
        placeholders = {
            "api.secret_key": self.api.secret_key,
            "alerting.webhook_secret": self.alerting.webhook_secret,
        }
        for name, value in placeholders.items():
            if value.get_secret_value() == DEMO_SECRET:
                raise ValueError(
                    f"{name} is the built-in demo secret; set ENERGYWATCH_"
                    f"{name.upper().replace('.', '__')} (or run with ENERGYWATCH_DEMO=1)"
                )
        return self

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
    try:
        return cls(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            if not err["loc"]:
                lines.append(f"  {err['msg']}")
                continue
            where = ".".join(str(p) for p in err["loc"])
            env = "ENERGYWATCH_" + "__".join(str(p) for p in err["loc"]).upper()
            lines.append(f"  {where} ({env}): {err['msg']}")
        raise SettingsError("invalid settings:\n" + "\n".join(lines)) from exc
