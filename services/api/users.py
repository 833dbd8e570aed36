"""`energywatch users ...`: add, list, disable people who sign in, and set their passwords.

Every refusal is an InputError with one line (a short password, an unknown role, a scope that
matches nothing in the registry); the database is reached through one checked connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa

from energywatch.dependencies import check_database
from energywatch.errors import InputError
from energywatch.settings import Settings
from energywatch.storage.api_tables import users
from energywatch.storage.engine import make_engine
from energywatch.storage.passwords import hash_password
from energywatch.storage.tables import sites
from services.api import accounts, audit
from services.api.principal import parse_scope

MIN_PASSWORD_CHARS = 8


@dataclass(frozen=True)
class UserRow:
    username: str
    role: str
    scope: str | None
    disabled: bool


@contextmanager
def _transaction(settings: Settings) -> Iterator[sa.Connection]:
    check_database(settings.database.url)  # one line naming the setting, not a traceback
    engine = make_engine(settings.database.url, pool_size=1)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InputError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")


def check_scope_in_registry(conn: sa.Connection, role: str, scope: tuple[str, ...]) -> None:
    """A regulator's prefixes must each match a site's division; an operator's site must exist."""
    site = sa.select(sites.c.id).where(sites.c.code == scope[0]) if role == "operator" else None
    if site is not None and conn.execute(site).first() is None:
        raise InputError(
            f"--scope {scope[0]}: no site has this code; "
            "import the registry first (energywatch registry import)"
        )
    for prefix in scope if role == "regulator" else ():
        match = sa.select(sites.c.id).where(sites.c.division_code.startswith(prefix)).limit(1)
        if conn.execute(match).first() is None:
            raise InputError(
                f"--scope {prefix}: no site's division code starts with it; "
                "import the registry first (energywatch registry import)"
            )


def _record(conn: sa.Connection, action: str, target: str, detail: dict[str, object]) -> None:
    audit.record(conn, action, username=None, target=target, detail=detail, client="cli")


def add_user(
    settings: Settings, username: str, password: str, role: str, scope: str | None
) -> None:
    """Create `username` with an argon2 hash of `password`."""
    try:
        scope_parts = parse_scope(role, scope)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    _check_password(password)
    with _transaction(settings) as conn:
        check_scope_in_registry(conn, role, scope_parts)
        if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first():
            raise InputError(f"user {username} exists")
        try:
            accounts.create_user(conn, username, password, role, scope)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        _record(conn, "user.create", username, {"role": role, "scope": scope, "via": "cli"})


def list_users(settings: Settings) -> list[UserRow]:
    with _transaction(settings) as conn:
        rows = conn.execute(
            sa.select(users.c.username, users.c.role, users.c.scope, users.c.disabled).order_by(
                users.c.username
            )
        ).all()
    return [UserRow(r.username, r.role, r.scope, r.disabled) for r in rows]


def _update(conn: sa.Connection, username: str, **values: object) -> None:
    done = conn.execute(users.update().where(users.c.username == username).values(**values))
    if done.rowcount == 0:
        raise InputError(f"no user {username} (energywatch users list shows who exists)")


def disable_user(settings: Settings, username: str) -> None:
    """The user can no longer sign in, and open sessions and API keys stop working."""
    with _transaction(settings) as conn:
        _update(conn, username, disabled=True)
        _record(conn, "user.disable", username, {"via": "cli"})


def set_password(settings: Settings, username: str, password: str) -> None:
    _check_password(password)
    with _transaction(settings) as conn:
        _update(conn, username, password_hash=hash_password(password))
        _record(conn, "user.password", username, {"via": "cli"})
