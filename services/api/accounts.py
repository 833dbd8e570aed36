"""Users, passwords, API keys and the login rate limit, against the database."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from energywatch.storage.api_tables import api_keys, login_attempts, users
from energywatch.storage.passwords import hash_password, needs_rehash, verify_password
from services.api import audit
from services.api.principal import Principal, parse_scope
from services.api.tokens import InvalidCredentials, secret_matches, split_api_key

# Verified when the username is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password")


@dataclass(frozen=True)
class LoginLimits:
    max_failures_per_user: int
    max_failures_per_client: int
    window_s: int


class LoginLimited(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


def principal_of(row: Any) -> Principal:
    role = str(row.role)
    return Principal(str(row.username), role, parse_scope(role, row.scope))  # type: ignore[arg-type]


def create_user(
    conn: sa.Connection, username: str, password: str, role: str, scope: str | None
) -> Principal:
    scope_parts = parse_scope(role, scope)
    if not username.strip():
        raise ValueError("username is empty")
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    conn.execute(
        users.insert().values(
            username=username,
            password_hash=hash_password(password),
            role=role,
            scope=",".join(scope_parts) or None,
        )
    )
    return Principal(username, role, scope_parts)  # type: ignore[arg-type]


# First key of the two-key advisory locks that serialise login bookkeeping (PostgreSQL keeps
# two-key locks apart from the one-key locks other services take).
LOGIN_LOCK_CLASS = 0x4C6F67  # "Log"


def _lock_key(kind: str, value: str) -> int:
    """A stable signed 32-bit key for one username or client address."""
    digest = hashlib.sha256(f"{kind}\x00{value}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def _retry_after(
    conn: sa.Connection,
    column: sa.ColumnElement[str],
    value: str,
    limit: int,
    window: timedelta,
    now: datetime,
) -> int | None:
    """Seconds until the oldest counted failure leaves the window, if `limit` is reached."""
    since = now - window
    rows = conn.execute(
        sa.select(login_attempts.c.at)
        .where(column == value, login_attempts.c.at > since, sa.not_(login_attempts.c.ok))
        .order_by(login_attempts.c.at.desc())
        .limit(limit)
    ).all()
    if len(rows) < limit:
        return None
    oldest_counted = rows[-1].at
    return max(1, int((oldest_counted + window - now).total_seconds()) + 1)


def _wait_under_locks(
    conn: sa.Connection, username: str, client: str, limits: LoginLimits
) -> int | None:
    """Lock the username and the client address for this transaction, then the seconds to wait
    when either limit is reached, or None. Concurrent logins of one user or client take their
    turn here, so each sees the attempts counted before it."""
    keys = sorted({_lock_key("user", username), _lock_key("client", client)})
    for key in keys:  # always ascending, so two logins can never deadlock
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(LOGIN_LOCK_CLASS, key)))
    now = datetime.now(UTC)
    window = timedelta(seconds=limits.window_s)
    user_wait = _retry_after(
        conn, login_attempts.c.username, username, limits.max_failures_per_user, window, now
    )
    if user_wait is not None:
        return user_wait
    return _retry_after(
        conn, login_attempts.c.client, client, limits.max_failures_per_client, window, now
    )


def login(
    engine: sa.Engine,
    username: str,
    password: str,
    client: str,
    limits: LoginLimits,
    on_check: Callable[[], None] = lambda: None,
) -> Principal:
    """Check the password under the rate limit; record the attempt and audit it.

    The attempt is counted and committed, as a failure, before the password is checked, and
    turned into a success after: however many requests arrive at once, at most
    `max_failures_per_user` passwords of one user are checked in a window. `on_check` runs
    once for every password checked."""
    with engine.begin() as conn:
        wait = _wait_under_locks(conn, username, client, limits)
        if wait is not None:
            audit.record(conn, "login.limited", username=username, client=client)
        else:
            attempt = conn.execute(
                login_attempts.insert()
                .values(username=username, client=client, ok=False)
                .returning(login_attempts.c.id)
            ).scalar_one()
            row = conn.execute(sa.select(users).where(users.c.username == username)).first()
    if wait is not None:
        raise LoginLimited(wait)
    on_check()
    ok = verify_password(row.password_hash if row else _DUMMY_HASH, password)
    ok = ok and row is not None and not row.disabled
    with engine.begin() as conn:
        audit.record(conn, "login.ok" if ok else "login.failed", username=username, client=client)
        if ok and row is not None:
            conn.execute(
                login_attempts.update().where(login_attempts.c.id == attempt).values(ok=True)
            )
            if needs_rehash(row.password_hash):  # made with older Argon2 parameters
                conn.execute(
                    users.update()
                    .where(users.c.id == row.id)
                    .values(password_hash=hash_password(password))
                )
    if not ok or row is None:
        raise InvalidCredentials("wrong username or password")
    return principal_of(row)


def principal_by_username(conn: sa.Connection, username: str) -> Principal | None:
    row = conn.execute(sa.select(users).where(users.c.username == username)).first()
    if row is None or row.disabled:
        return None
    return principal_of(row)


def principal_by_api_key(conn: sa.Connection, key: str) -> Principal:
    key_id, secret = split_api_key(key)
    row = conn.execute(
        sa.select(
            api_keys.c.id,
            api_keys.c.secret_sha256,
            users.c.username,
            users.c.role,
            users.c.scope,
            users.c.disabled,
        )
        .join(users, users.c.id == api_keys.c.user_id)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
    ).first()
    if row is None or row.disabled or not secret_matches(secret, row.secret_sha256):
        raise InvalidCredentials("invalid API key")
    conn.execute(
        api_keys.update().where(api_keys.c.id == key_id).values(last_used_at=sa.func.now())
    )
    p = principal_of(row)
    return Principal(p.username, p.role, p.scope, api_key_id=key_id)
