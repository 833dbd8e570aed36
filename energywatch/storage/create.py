"""Create the database of a URL on its server, through the server's `postgres` database."""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql

from energywatch.dependencies import connect_database, database_name, is_missing_database
from energywatch.errors import DependencyError
from energywatch.storage.engine import libpq_url

log = logging.getLogger(__name__)


def maintenance_url(url: str) -> str:
    """The same server, user and password, on the `postgres` maintenance database."""
    info = psycopg.conninfo.conninfo_to_dict(libpq_url(url))
    info["dbname"] = "postgres"
    return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]


def ensure_database(url: str) -> bool:
    """Create the database of `url` if it does not exist; True if it was created.

    A DependencyError (one line, naming the setting) when the server cannot be reached or
    refuses to create it."""
    try:
        connect_database(url).close()
        return False
    except DependencyError as exc:
        if not is_missing_database(exc):
            raise
    name = database_name(url)
    with connect_database(maintenance_url(url), autocommit=True) as conn:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False  # created meanwhile by someone else
        except psycopg.Error as exc:
            raise DependencyError(
                f"database {name} does not exist and cannot be created by this user "
                f"({str(exc).strip().splitlines()[0]}) — create it as a superuser: "
                f"psql -c 'CREATE DATABASE \"{name}\"' on the server of ENERGYWATCH_DATABASE__URL"
            ) from exc
    log.info("created database %s", name)
    return True
