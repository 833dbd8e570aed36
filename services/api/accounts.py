"""Users, passwords, API keys and the login rate limit, against the database."""

from __future__ import annotations

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


def login(
    conn: sa.Connection, username: str, password: str, client: str, limits: LoginLimits
) -> Principal:
    """Check the password under the rate limit; record the attempt and audit it."""
    now = datetime.now(UTC)
    window = timedelta(seconds=limits.window_s)
    wait = _retry_after(
        conn, login_attempts.c.username, username, limits.max_failures_per_user, window, now
    )
    if wait is None:
        wait = _retry_after(
            conn, login_attempts.c.client, client, limits.max_failures_per_client, window, now
        )
    if wait is not None:
        audit.record(conn, "login.limited", username=username, client=client)
        raise LoginLimited(wait)
    row = conn.execute(sa.select(users).where(users.c.username == username)).first()
    ok = verify_password(row.password_hash if row else _DUMMY_HASH, password)
    ok = ok and row is not None and not row.disabled
    conn.execute(login_attempts.insert().values(username=username, client=client, ok=ok))
    audit.record(conn, "login.ok" if ok else "login.failed", username=username, client=client)
    if not ok or row is None:
        raise InvalidCredentials("wrong username or password")
    if needs_rehash(row.password_hash):  # made with older Argon2 parameters
        conn.execute(
            users.update().where(users.c.id == row.id).values(password_hash=hash_password(password))
        )
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
