"""Tables of the API: people, machine keys, the audit log and login attempts (rate limit)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from energywatch.storage.tables import TZ, metadata

ROLES = ("admin", "regulator", "operator")

users = sa.Table(
    "api_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.Text, nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    # regulator: comma-separated division-code prefixes; operator: one site code; admin: NULL
    sa.Column("scope", sa.Text),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("role IN ('admin', 'regulator', 'operator')", name="role"),
    sa.CheckConstraint("role = 'admin' OR scope IS NOT NULL", name="scope"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("api_users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.Text, nullable=False),
    # SHA-256 of the secret: keys are 256-bit random, so a slow KDF would add nothing but latency
    sa.Column("secret_sha256", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("last_used_at", TZ),
    sa.Column("revoked_at", TZ),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("at", TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("username", sa.Text),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text),
    sa.Column("detail", JSONB),
    sa.Column("client", sa.Text),
    sa.Index("ix_audit_log_at", "at"),
)

login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("at", TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("username", sa.Text, nullable=False),
    sa.Column("client", sa.Text, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Index("ix_login_attempts_username_at", "username", "at"),
    sa.Index("ix_login_attempts_client_at", "client", "at"),
)
