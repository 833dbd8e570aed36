from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
import yaml

from energywatch.storage.engine import make_engine
from services.alerting.evaluator import Evaluator, RuleSource
from services.alerting.inputs import bucket_floor
from services.alerting.registry import SharedRegistry
from tests.integration.alerting.support import LOCAL_RECEIVERS


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url, autocommit=True) as c:
        yield c


@pytest.fixture
def t0(clock: datetime) -> datetime:
    """A bucket boundary a little in the past, so crafted data never lies in the future."""
    return bucket_floor(clock)


def write_rules(directory: Path, rules: list[dict]) -> RuleSource:
    directory.mkdir(exist_ok=True)
    (directory / "rules.yaml").write_text(yaml.safe_dump({"rules": rules}))
    return RuleSource([directory], LOCAL_RECEIVERS)


@pytest.fixture
def make_evaluator(conn: psycopg.Connection, tmp_path: Path):
    def make(rules: list[dict]) -> Evaluator:
        return Evaluator(
            conn, write_rules(tmp_path / "rules", rules), registries=SharedRegistry(0.0)
        )

    return make


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """SQLAlchemy engine, as the API holds it, for the functions the API calls."""
    eng = make_engine(db_url, pool_size=1)
    try:
        yield eng
    finally:
        eng.dispose()
