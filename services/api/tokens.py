"""Bearer tokens (JWT, HS256) for people and API keys for machines."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import jwt

from services.api.principal import Principal, parse_scope

ALGORITHM = "HS256"
API_KEY_PREFIX = "ewk_"


class InvalidCredentials(Exception):
    pass


def _signing_key(secret: str) -> bytes:
    """A 256-bit HMAC key from the configured secret, whatever its length, and bound to this
    use, so the same secret elsewhere never yields a valid token."""
    return hashlib.sha256(b"energywatch api token\x00" + secret.encode()).digest()


def _sign(
    principal: Principal,
    secret: str,
    lifetime: timedelta,
    now: datetime | None,
    **extra: str | None,
) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "sub": principal.username,
        "role": principal.role,
        **extra,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, _signing_key(secret), algorithm=ALGORITHM)


def issue_token(
    principal: Principal, secret: str, minutes: int, now: datetime | None = None
) -> str:
    return _sign(principal, secret, timedelta(minutes=minutes), now, scope=principal.scope_text)


def read_token(token: str, secret: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            _signing_key(secret),
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "role"]},
        )
        role = str(claims["role"])
        return Principal(
            str(claims["sub"]),
            role,  # type: ignore[arg-type]
            parse_scope(role, claims.get("scope")),
        )
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidCredentials("invalid or expired token") from exc


STREAM_AUDIENCE = "energywatch-stream"


def issue_stream_ticket(
    principal: Principal, secret: str, seconds: int, now: datetime | None = None
) -> str:
    """A token that opens a live stream and nothing else, valid for `seconds`: a browser's
    EventSource cannot send headers, so it goes in the URL, which reaches access logs; the
    session's own token never does. It is checked only when a stream opens."""
    return _sign(principal, secret, timedelta(seconds=seconds), now, aud=STREAM_AUDIENCE)


def read_stream_ticket(ticket: str, secret: str) -> str:
    """The username a stream ticket was issued to. A session token is refused here, and a
    ticket is refused by `read_token` (it carries an audience that one does not expect)."""
    try:
        claims = jwt.decode(
            ticket,
            _signing_key(secret),
            algorithms=[ALGORITHM],
            audience=STREAM_AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
        )
        return str(claims["sub"])
    except jwt.PyJWTError as exc:
        raise InvalidCredentials("invalid or expired stream ticket") from exc


def new_api_key(key_id: int) -> tuple[str, str]:
    """A new key for row `key_id`: (the key to hand out once, the hash to store)."""
    secret = secrets.token_urlsafe(32)
    return f"{API_KEY_PREFIX}{key_id}_{secret}", secret_hash(secret)


def split_api_key(key: str) -> tuple[int, str]:
    if not key.startswith(API_KEY_PREFIX):
        raise InvalidCredentials("malformed API key")
    key_id, sep, secret = key[len(API_KEY_PREFIX) :].partition("_")
    if not sep or not key_id.isdigit() or not secret or len(key_id) > 9:
        raise InvalidCredentials("malformed API key")
    return int(key_id), secret


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return secrets.compare_digest(secret_hash(secret), stored_hash)
