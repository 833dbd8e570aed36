"""The command line: every command is listed and explains itself."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from energywatch.cli import app

COMMANDS = [
    "db upgrade",
    "db downgrade",
    "db current",
    "registry import",
    "ingest",
    "rollup",
    "alerting",
    "api",
    "edge",
    "demo",
    "mqtt acl",
    "users add",
    "users list",
    "users disable",
    "users passwd",
]


def test_top_level_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for command in {c.split()[0] for c in COMMANDS}:
        assert f" {command} " in result.output, command


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help_text(command: str) -> None:
    result = CliRunner().invoke(app, [*command.split(), "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    # The first line of the docstring is shown under the usage line.
    _, _, rest = result.output.partition("\n")
    assert "Usage:" in result.output
    assert len(rest.strip().splitlines()[0]) > 10


def test_bad_setting_stops_with_a_named_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "energywatch", "db", "current"],
        env={"ENERGYWATCH_DEMO": "1", "ENERGYWATCH_MQTT__PORT": "70000", "PATH": ""},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "mqtt.port (ENERGYWATCH_MQTT__PORT)" in done.stderr
