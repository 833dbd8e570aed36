from __future__ import annotations

from pathlib import Path

import pytest

from energywatch.errors import SettingsError
from energywatch.settings import load_settings, require_secrets, unknown_variables


def test_demo_secret_refused_outside_demo_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENERGYWATCH_DEMO", raising=False)
    settings = load_settings()  # commands that use no secret run without one
    with pytest.raises(SettingsError, match="ENERGYWATCH_API__SECRET_KEY"):
        require_secrets(settings, "api.secret_key")


def test_every_secret_problem_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENERGYWATCH_DEMO", raising=False)
    monkeypatch.setenv("ENERGYWATCH_ALERTING__WEBHOOK_SECRET", "CHANGE-ME")
    with pytest.raises(SettingsError) as refused:
        require_secrets(load_settings(), "api.secret_key", "alerting.webhook_secret")
    message = str(refused.value)
    assert "\n" not in message
    assert "api.secret_key (ENERGYWATCH_API__SECRET_KEY) is the built-in demo secret" in message
    assert "alerting.webhook_secret (ENERGYWATCH_ALERTING__WEBHOOK_SECRET) is still" in message


def test_production_secrets_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENERGYWATCH_API__SECRET_KEY", "a-real-secret-from-the-env-file")
    monkeypatch.setenv("ENERGYWATCH_ALERTING__WEBHOOK_SECRET", "another-real-secret")
    settings = load_settings()
    require_secrets(settings, "api.secret_key", "alerting.webhook_secret")
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


def test_unknown_variable_is_named_with_the_nearest_setting() -> None:
    environ = {
        "ENERGYWATCH_DATABASE_URL": "postgresql://elsewhere/db",  # one underscore
        "ENERGYWATCH_MQTT__HOST": "broker",
        "ENERGYWATCH_CONFIG": "/etc/energywatch.toml",
        "ENERGYWATCH_EDGE_MQTT_PASSWORD": "read by the edge agent",
        "ENERGYWATCH_TEST_TIMESCALE_URL": "postgresql://test/db",
        "ENERGYWATCH_BENCH_PG_URL": "postgresql://bench/db",
        "PATH": "/usr/bin",
    }
    assert unknown_variables(environ) == [
        "ENERGYWATCH_DATABASE_URL is not a setting and is ignored; "
        "did you mean ENERGYWATCH_DATABASE__URL?"
    ]


def test_unknown_key_in_the_toml_file_is_refused_with_the_nearest(tmp_path: Path) -> None:
    config = tmp_path / "energywatch.toml"
    config.write_text('[database]\nurll = "postgresql://x/y"\n')
    with pytest.raises(
        SettingsError, match=r"database\.urll .* is not a setting; did you mean database\.url\?"
    ):
        load_settings(config)
    config.write_text('[databse]\nurl = "postgresql://x/y"\n')
    with pytest.raises(SettingsError, match=r"did you mean database\?"):
        load_settings(config)


def test_broken_toml_is_one_line_with_line_and_column(tmp_path: Path) -> None:
    config = tmp_path / "energywatch.toml"
    config.write_text('demo = true\n[mqtt]\nhost = "broker\n')
    with pytest.raises(SettingsError) as refused:
        load_settings(config)
    message = str(refused.value)
    assert "\n" not in message
    assert f"config file {config} is not valid TOML" in message
    assert "line 3, column" in message
