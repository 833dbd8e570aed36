"""Database connections: a SQLAlchemy engine for metadata, psycopg for the hot path."""

from __future__ import annotations

import sqlalchemy as sa


def sqlalchemy_url(url: str) -> str:
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def make_engine(url: str, pool_size: int = 5) -> sa.Engine:
    return sa.create_engine(sqlalchemy_url(url), pool_size=pool_size, pool_pre_ping=True)
