"""The registry's `non_fossil` mark (docs/computation.md, "Non-fossil electricity"): stored on
level-1 electricity consumption points from YAML and points CSV; anywhere else refused whole
with file:line [field]: message, nothing written; the database refuses it too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from energywatch.errors import RegistryError
from energywatch.storage.engine import make_engine
from energywatch.storage.registry import import_registry_file

SITE = """sites:
  - code: PV-01
    name: 示例光伏工厂
    kind: enterprise
    credit_code: 91320505MA1XYK0P75
    division_code: "320505"
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
    assert problem.line == 12
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
