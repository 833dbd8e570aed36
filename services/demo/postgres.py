"""The demo's database: the configured PostgreSQL if it answers, else an embedded server.

The embedded server comes from the `pgserver` wheel (the `embedded` extra) and keeps its data
in `data_dir/postgres`, so a second demo run continues where the first stopped.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from energywatch.errors import SettingsError
from energywatch.storage.create import ensure_database, maintenance_url

log = logging.getLogger("demo.postgres")


@dataclass(frozen=True)
class Database:
    url: str
    kind: str  # "configured" or "embedded"


def server_answers(url: str) -> bool:
    try:
        with psycopg.connect(maintenance_url(url), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@contextlib.contextmanager
def demo_database(configured_url: str, data_dir: Path) -> Iterator[Database]:
    if server_answers(configured_url):
        ensure_database(configured_url)
        yield Database(configured_url, "configured")
        return
    try:
        import pgserver
    except ImportError:
        raise SettingsError(
            f"no PostgreSQL answers at {configured_url} and the embedded server is not "
            "installed: pip install 'energywatch[embedded]' (or start PostgreSQL)"
        ) from None
    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    log.info("starting the embedded PostgreSQL in %s", pgdata)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root, CI) and falls back to /tmp.
        warnings.simplefilter("ignore")
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    try:
        url = server.get_uri("energywatch")
        ensure_database(url)
        yield Database(url, "embedded")
    finally:
        server.cleanup()
