"""Writes to the audit log: logins, acknowledgements, configuration changes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from energywatch.storage.api_tables import audit_log


def record(
    conn: sa.Connection,
    action: str,
    *,
    username: str | None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    client: str | None = None,
) -> None:
    conn.execute(
        audit_log.insert().values(
            username=username, action=action, target=target, detail=detail, client=client
        )
    )
