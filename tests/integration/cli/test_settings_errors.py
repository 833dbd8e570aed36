"""Settings problems through the real command: one line each, naming the setting."""

from __future__ import annotations

from pathlib import Path

from services.demo.broker import free_port
from tests.support.cli import clean_env, run_energywatch


def _stderr_lines(args: list[str], **env: str) -> tuple[int, list[str]]:
    done = run_energywatch(*args, env=clean_env(**env))
    return done.returncode, done.stderr.strip().splitlines()


def test_broken_toml_file_is_one_line_with_line_and_column(tmp_path: Path) -> None:
    config = tmp_path / "energywatch.toml"
    config.write_text('[database]\nurl = "postgresql://x/y\n')
    code, lines = _stderr_lines(["db", "current", "--config", str(config)])
    assert code != 0
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: config file {config} is not valid TOML")
    assert "line 2, column" in lines[0]


def test_unknown_key_in_the_toml_file_names_the_nearest(tmp_path: Path) -> None:
    config = tmp_path / "energywatch.toml"
    config.write_text('[database]\nulr = "postgresql://x/y"\n')
    code, lines = _stderr_lines(["db", "current", "--config", str(config)])
    assert code != 0
    assert lines == [
        "error: invalid setting database.ulr (ENERGYWATCH_DATABASE__ULR) is not a setting; "
        "did you mean database.url?"
    ]


def test_misspelt_variable_is_named_not_silently_ignored() -> None:
    away = f"postgresql://postgres@127.0.0.1:{free_port()}/energywatch"
    code, lines = _stderr_lines(
        ["db", "current"], ENERGYWATCH_DATABASE__URL=away, ENERGYWATCH_DATABASE_URL=away
    )
    assert code != 0
    assert (
        "ENERGYWATCH_DATABASE_URL is not a setting and is ignored; "
        "did you mean ENERGYWATCH_DATABASE__URL?"
    ) in lines


def test_api_refuses_placeholder_secrets_in_one_line() -> None:
    code, lines = _stderr_lines(["api"], ENERGYWATCH_API__SECRET_KEY="CHANGE-ME")
    assert code != 0
    assert len(lines) == 1, lines
    assert (
        "api.secret_key (ENERGYWATCH_API__SECRET_KEY) is still the CHANGE-ME placeholder"
        in (lines[0])
    )


def test_alerting_refuses_the_demo_webhook_secret_in_one_line() -> None:
    code, lines = _stderr_lines(["alerting", "--once"])
    assert code != 0
    assert len(lines) == 1, lines
    assert "alerting.webhook_secret (ENERGYWATCH_ALERTING__WEBHOOK_SECRET)" in lines[0]
