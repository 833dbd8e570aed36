"""`energywatch users ...` as a person runs it: refusals in one line, scopes checked against the
registry, and list, disable and passwd."""

from __future__ import annotations

import psycopg
import pytest
from typer.testing import CliRunner

from energywatch.cli import app
from energywatch.storage.passwords import verify_password
from tests.support.cli import clean_env, run_energywatch


def _users(db_url: str, *args: str) -> tuple[int, str, list[str]]:
    done = run_energywatch("users", *args, env=clean_env(ENERGYWATCH_DATABASE__URL=db_url))
    return done.returncode, done.stdout, done.stderr.strip().splitlines()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "admin", "--password", "short"], "at least 8 characters"),
        (["--role", "root", "--password", "long enough"], "role must be one of admin"),
        (["--role", "operator", "--password", "long enough"], "an operator needs a scope"),
        (
            ["--role", "regulator", "--scope", "14xx", "--password", "long enough"],
            "not a division-code prefix",
        ),
    ],
    ids=["short password", "bad role", "no scope", "bad prefix"],
)
def test_refusals_are_one_line(db_url: str, args: list[str], message: str) -> None:
    code, _, lines = _users(db_url, "add", "ann", *args)
    assert code != 0
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and message in lines[0]


def test_scope_must_match_the_registry(db_url: str) -> None:
    imported = run_energywatch(
        "registry",
        "import",
        "tests/data/registry/valid.yaml",
        env=clean_env(ENERGYWATCH_DATABASE__URL=db_url),
    )
    assert imported.returncode == 0, imported.stderr
    code, _, lines = _users(
        db_url, "add", "far", "--role", "regulator", "--scope", "1402", "--password", "long enough"
    )
    assert code != 0 and len(lines) == 1
    assert "--scope 1402: no site's division code starts with it" in lines[0]
    code, _, lines = _users(
        db_url, "add", "op", "--role", "operator", "--scope", "NO-SUCH", "--password", "long enough"
    )
    assert code != 0 and len(lines) == 1
    assert "--scope NO-SUCH: no site has this code" in lines[0]
    code, out, _ = _users(
        db_url, "add", "city", "--role", "regulator", "--scope", "1401", "--password", "long pw ok"
    )
    assert code == 0 and "added regulator city" in out


def _stored(db_url: str, username: str) -> tuple[str, bool]:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT password_hash, disabled FROM api_users WHERE username = %s", (username,)
        ).fetchone()
    assert row is not None
    return str(row[0]), bool(row[1])


def test_list_passwd_and_disable(db_url: str) -> None:
    assert _users(db_url, "add", "ann", "--role", "admin", "--password", "first password")[0] == 0
    code, out, _ = _users(db_url, "list")
    assert code == 0 and out.splitlines() == ["ann\tadmin\t-"]
    code, out, _ = _users(db_url, "passwd", "ann", "--password", "second password")
    assert code == 0
    assert verify_password(_stored(db_url, "ann")[0], "second password")
    code, out, _ = _users(db_url, "disable", "ann")
    assert code == 0 and _stored(db_url, "ann")[1]
    assert _users(db_url, "list")[1].splitlines() == ["ann\tadmin\t-  disabled"]
    code, _, lines = _users(db_url, "disable", "bob")
    assert code != 0 and len(lines) == 1 and "no user bob" in lines[0]


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("energywatch ")
