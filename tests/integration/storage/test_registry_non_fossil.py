"""The registry's `non_fossil` mark (docs/computation.md, "Non-fossil electricity"): stored on
level-1 electricity consumption points from YAML and points CSV; anywhere else refused whole
with file:line [field]: message, nothing written; the database refuses it too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from energywatch.errors import RegistryError
from energywatch.storage.engine import make_engine
from energywatch.storage.registry import import_registry_file
from services.rollup.worker import Options, drain

SITE = """sites:
  - code: PV-01
    name: 示例光伏工厂
    kind: enterprise
    credit_code: 91320505MA1XYK0P75
    division_code: "320505"
    factor_set: cn-mee-2022
    grid_region: east
    devices:
      - code: gw01
        points:
          - {code: E01, measure: electricity, unit: kWh, kind: cumulative}
          - {code: PV1, measure: electricity, unit: kWh, kind: cumulative, non_fossil: own_renewable}
"""  # noqa: E501
ONE_MORE = "          - {code: X9, measure: %s, unit: %s, kind: cumulative%s}\n"
MARKS = "SELECT code, non_fossil FROM points ORDER BY code"


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url, pool_size=1)
    yield engine
    engine.dispose()


def _import(engine: sa.Engine, path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    import_registry_file(engine, path)


def _marks(engine: sa.Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return {code: mark for code, mark in conn.execute(sa.text(MARKS))}


def test_marks_are_stored_from_yaml_and_csv(engine: sa.Engine, tmp_path: Path) -> None:
    _import(engine, tmp_path / "site.yaml", SITE)
    assert _marks(engine) == {"E01": None, "PV1": "own_renewable"}
    _import(
        engine,
        tmp_path / "points.csv",
        "site,device,code,measure,unit,kind,non_fossil\n"
        "PV-01,gw01,E02,electricity,kWh,cumulative,green_certificate\n"
        "PV-01,gw01,E03,electricity,kWh,cumulative,\n",
    )
    assert _marks(engine) == {
        "E01": None,
        "E02": "green_certificate",
        "E03": None,
        "PV1": "own_renewable",
    }


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (("steam", "GJ", ", non_fossil: own_renewable"), "electricity consumption point"),
        (("electricity", "kWh", ", non_fossil: green_certificate, metering_level: 2"),
         "metering_level 1"),
        (("electricity", "kWh", ", non_fossil: own_renewable, role: export"),
         "electricity consumption point"),
        (("electricity", "kWh", ", non_fossil: nuclear"), "'own_renewable' or 'green_certificate'"),
    ],
)  # fmt: skip
def test_a_misplaced_mark_is_refused_whole(
    engine: sa.Engine, tmp_path: Path, extra: tuple[str, str, str], words: str
) -> None:
    _import(engine, tmp_path / "site.yaml", SITE)
    before = _marks(engine)
    with pytest.raises(RegistryError) as caught:
        _import(engine, tmp_path / "bad.yaml", SITE + ONE_MORE % extra)
    (problem,) = caught.value.problems
    assert problem.file.endswith("bad.yaml")
    assert problem.line == 14
    assert "sites.0.devices.0.points.2" in (problem.field or ""), str(problem)
    assert words in problem.message, str(problem)
    assert _marks(engine) == before


def test_a_misplaced_mark_in_a_points_csv_names_its_line(engine: sa.Engine, tmp_path: Path) -> None:
    _import(engine, tmp_path / "site.yaml", SITE)
    with pytest.raises(RegistryError) as caught:
        _import(
            engine,
            tmp_path / "points.csv",
            "site,device,code,measure,unit,kind,non_fossil\n"
            "PV-01,gw01,E02,electricity,kWh,cumulative,green_certificate\n"
            "PV-01,gw01,S01,steam,GJ,cumulative,own_renewable\n",
        )
    (problem,) = caught.value.problems
    assert (problem.line, "electricity consumption point" in problem.message) == (3, True)
    assert "E02" not in _marks(engine)


def test_the_database_refuses_a_mark_the_registry_would(engine: sa.Engine, tmp_path: Path) -> None:
    _import(engine, tmp_path / "site.yaml", SITE)
    with pytest.raises(sa.exc.IntegrityError, match="ck_points_non_fossil"):  # noqa: SIM117
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE points SET metering_level = 2 WHERE code = 'PV1'"))
    assert _marks(engine)["PV1"] == "own_renewable"


def _pv_day_tco2(db_url: str) -> float:
    """Run the rollup over what is marked; PV1's tCO2 of the stored buckets."""
    with psycopg.connect(db_url) as conn:
        drain(conn, Options())
        row = conn.execute(
            "SELECT sum(c.tco2), sum(c.quantity) FROM consumption_15min c"
            " JOIN points p ON p.id = c.point_id WHERE p.code = 'PV1'"
        ).fetchone()
    assert row is not None and row[1] == pytest.approx(20.0), row
    return float(row[0])


def test_own_generation_has_no_co2_and_a_changed_mark_is_converted_again(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    _import(engine, tmp_path / "site.yaml", SITE)
    with engine.begin() as conn:
        # three readings of PV1's register and the buckets ingest would have marked
        conn.execute(
            sa.text(
                "INSERT INTO readings (point_id, ts, value)"
                " SELECT p.id, TIMESTAMPTZ '2026-06-21 04:00+00' + k * INTERVAL '15 minutes',"
                " 1000 + 10 * k FROM points p, generate_series(0, 2) AS k WHERE p.code = 'PV1';"
                " INSERT INTO dirty_buckets (point_id, bucket) SELECT point_id, ts FROM readings"
            )
        )
    assert _pv_day_tco2(db_url) == 0.0
    _import(engine, tmp_path / "same.yaml", SITE)  # the same marks: nothing to convert again
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM dirty_buckets")).scalar_one() == 0
    _import(engine, tmp_path / "unmarked.yaml", SITE.replace(", non_fossil: own_renewable", ""))
    # 20 kWh at the east grid's factor (0.5500 kgCO2/kWh, docs/computation.md)
    assert _pv_day_tco2(db_url) == pytest.approx(20 * 0.55 / 1000, rel=1e-12)
