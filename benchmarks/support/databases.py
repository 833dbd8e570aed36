"""Creating and dropping the throw-away PostgreSQL databases that tests and benchmarks run in."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg


def _with_dbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def create_database(server_url: str, name: str) -> str:
    """Create database `name` on the server of `server_url`; its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_dbname(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
