from __future__ import annotations

from pathlib import Path

import pytest

from energywatch.errors import SettingsError
from energywatch.settings import load_settings


def test_demo_secret_refused_outside_demo_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENERGYWATCH_DEMO", raising=False)
    with pytest.raises(SettingsError, match="ENERGYWATCH_API__SECRET_KEY"):
        load_settings()


def test_production_secrets_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENERGYWATCH_API__SECRET_KEY", "a-real-secret-from-the-env-file")
    monkeypatch.setenv("ENERGYWATCH_ALERTING__WEBHOOK_SECRET", "another-real-secret")
    settings = load_settings()
    assert not settings.demo
    assert settings.api.secret_key.get_secret_value() == "a-real-secret-from-the-env-file"


def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENERGYWATCH_DEMO", "1")
    monkeypatch.setenv("ENERGYWATCH_MQTT__PORT", "not-a-port")
    with pytest.raises(SettingsError, match=r"mqtt.port \(ENERGYWATCH_MQTT__PORT\)"):
        load_settings()


def test_toml_file_and_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "energywatch.toml"
    config.write_text('demo = true\n[mqtt]\nhost = "broker.plant"\nport = 8883\n')
    monkeypatch.setenv("ENERGYWATCH_MQTT__PORT", "1884")
    settings = load_settings(config)
    assert settings.mqtt.host == "broker.plant"
    assert settings.mqtt.port == 1884


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_database_url_must_be_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENERGYWATCH_DEMO", "1")
    monkeypatch.setenv("ENERGYWATCH_DATABASE__URL", "mysql://x")
    with pytest.raises(SettingsError, match=r"database\.url"):
        load_settings()
