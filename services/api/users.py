"""`energywatch user add`: create a person who logs in to the API and dashboard."""

from __future__ import annotations

from energywatch.errors import SettingsError
from energywatch.settings import Settings
from energywatch.storage.engine import make_engine
from services.api import accounts, audit


def add_user(
    settings: Settings, username: str, password: str, role: str, scope: str | None
) -> None:
    """Create `username` with an argon2 hash of `password`; ValueError for a bad role/scope."""
    engine = make_engine(settings.database.url, pool_size=1)
    try:
        with engine.begin() as conn:
            accounts.create_user(conn, username, password, role, scope)
            audit.record(
                conn,
                "user.create",
                username=None,
                target=username,
                detail={"role": role, "scope": scope, "via": "cli"},
                client="cli",
            )
    except Exception as exc:
        import sqlalchemy as sa

        if isinstance(exc, sa.exc.IntegrityError):
            raise ValueError(f"user {username} exists") from exc
        if isinstance(exc, sa.exc.OperationalError):
            raise SettingsError(f"cannot reach the database: {exc.orig}") from exc
        raise
    finally:
        engine.dispose()
