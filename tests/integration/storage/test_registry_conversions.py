"""Registry fields of the conversions: steam and hot water metered by mass, measured fuel
values. Valid ones are stored with what the rollup needs; bad ones are refused whole with
file:line [field]: message, nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from energywatch.core import steam
from energywatch.errors import RegistryError
from energywatch.storage.engine import make_engine
from energywatch.storage.registry import import_registry_file

HEAD = """sites:
  - code: CHEM-01
    name: 示例煤化工
    kind: enterprise
    credit_code: 91140100MA0GRQ5H1C
    division_code: "140100"
    factor_set: cn-mee-2022
    grid_region: north
"""
MEASURED = """    measured_fuels:
      - measure: raw_coal
        valid_from: 2026-11-01
        valid_to: 2026-11-30
        ncv_gj_per_unit: 23.45
        carbon_tc_per_tj: 26.80
        laboratory: Shanxi coal quality centre
        report_ref: LAB-2026-11-07
        sampled_by: shift B
        measured_on: 2026-11-07
"""
DEVICE = """    devices:
      - code: gw01
        points:
          - {code: C01, measure: raw_coal, unit: t, kind: cumulative}
"""


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url, pool_size=1)
    yield engine
    engine.dispose()


def _write(tmp_path: Path, text: str, name: str = "registry.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _rows(engine: sa.Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def test_mass_metered_heat_is_stored_with_its_heat_per_tonne(
    engine: sa.Engine, tmp_path: Path
) -> None:
    points = """          - {code: S1, measure: steam_mass, unit: t, kind: cumulative, pressure_mpa: 1.0, temperature_c: 250}
          - {code: S2, measure: steam_mass, unit: t, kind: cumulative, pressure_mpa: 0.6}
          - {code: S3, measure: steam_mass, unit: t, kind: cumulative}
          - {code: W1, measure: hot_water_mass, unit: t, kind: interval, pressure_mpa: 0.6, temperature_c: 95, return_temperature_c: 70}
          - {code: W2, measure: hot_water_mass, unit: t, kind: interval, enthalpy_kj_per_kg: 420}
"""  # noqa: E501
    import_registry_file(engine, _write(tmp_path, HEAD + DEVICE + points))
    got = {
        r[0]: r[1]
        for r in _rows(engine, "SELECT code, heat_gj_per_t FROM points WHERE code <> 'C01'")
    }
    assert got["S1"] == pytest.approx(steam.enthalpy_region2(523.15, 1.0) / 1000, rel=1e-12)
    assert got["S2"] == pytest.approx(steam.saturated_steam_enthalpy(0.6) / 1000, rel=1e-12)
    assert got["S3"] == 3.763  # GB/T 2589-2008 Annex A low-pressure steam, as reprinted
    assert got["W1"] == pytest.approx(
        (steam.liquid_enthalpy(95, 0.6) - steam.liquid_enthalpy(70, 0.6)) / 1000, rel=1e-12
    )
    assert got["W2"] == 0.42
    assert _rows(engine, "SELECT heat_gj_per_t FROM points WHERE code = 'C01'") == [(None,)]


def test_measured_values_are_stored_kept_and_replaced(engine: sa.Engine, tmp_path: Path) -> None:
    import_registry_file(engine, _write(tmp_path, HEAD + MEASURED + DEVICE))
    sql = "SELECT measure, ncv_gj_per_unit, carbon_tc_per_tj, report_ref FROM measured_fuels"
    assert _rows(engine, sql) == [("raw_coal", 23.45, 26.80, "LAB-2026-11-07")]
    # Readings of the fuel in the period: importing the values marks their buckets dirty.
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM dirty_buckets"))
        conn.execute(
            sa.text(
                "INSERT INTO readings (point_id, ts, value) SELECT id, ts, 1"
                " FROM points, (VALUES (TIMESTAMPTZ '2026-11-20 08:07+08'),"
                " (TIMESTAMPTZ '2026-12-02 08:07+08')) v(ts) WHERE code = 'C01'"
            )
        )
    import_registry_file(engine, _write(tmp_path, HEAD + DEVICE))  # no key: kept
    assert len(_rows(engine, sql)) == 1
    assert _rows(engine, "SELECT count(*) FROM dirty_buckets") == [(0,)]
    import_registry_file(engine, _write(tmp_path, HEAD + "    measured_fuels: []\n" + DEVICE))
    assert _rows(engine, sql) == []
    marked = _rows(engine, "SELECT bucket AT TIME ZONE 'Asia/Shanghai' FROM dirty_buckets")
    assert [str(b[0]) for b in marked] == ["2026-11-20 08:00:00"]  # the old period's only


def _bad_point(fields: str) -> str:
    return HEAD + DEVICE + f"          - {{code: X1, kind: cumulative, {fields}}}\n"


def _bad_measured(**changes: str) -> str:
    text = MEASURED.replace(
        "- measure: raw_coal", f"- measure: {changes.pop('measure', 'raw_coal')}"
    )
    for key, value in changes.items():
        text = "\n".join(
            f"        {key}: {value}" if line.strip().startswith(f"{key}:") else line
            for line in text.splitlines()
        )
    return HEAD + text.rstrip("\n") + "\n" + DEVICE


OVERLAP = (
    HEAD
    + MEASURED
    + """      - measure: raw_coal
        valid_from: 2026-11-30
        valid_to: 2026-12-31
        ncv_gj_per_unit: 22.0
        laboratory: lab
        report_ref: R2
        sampled_by: shift A
        measured_on: 2026-12-05
"""
    + DEVICE
)


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (_bad_point("measure: steam_mass, unit: t, pressure_mpa: 1.0, temperature_c: 150"), 13,
         "points.1", "150.0 °C is water"),
        (_bad_point("measure: steam_mass, unit: t, temperature_c: 260"), 13, "points.1",
         "a temperature needs its pressure_mpa"),
        (_bad_point("measure: hot_water_mass, unit: t"), 13, "points.1",
         "needs pressure_mpa and temperature_c"),
        (_bad_point("measure: steam_mass, unit: t, enthalpy_kj_per_kg: 2800, pressure_mpa: 1"),
         13, "points.1", "not both"),
        (_bad_point("measure: hot_water_mass, unit: t, pressure_mpa: 0.6, temperature_c: 70,"
                    " return_temperature_c: 70"), 13, "points.1", "leaves no heat"),
        (_bad_point("measure: electricity, unit: kWh, temperature_c: 20, pressure_mpa: 1"), 13,
         "points.1", "only steam or hot water metered by mass"),
        (_bad_point("measure: steam_mass, unit: GJ"), 13, "points.1", "it is metered in t"),
        (_bad_point("measure: electricity, unit: kWh, product: coke_top_charged"), 13,
         "points.1", "names a product"),
        (_bad_point("measure: natural_gas, unit: m3, product: electrolytic_aluminium"), 13,
         "points.1", "names a product"),
        (_bad_point("measure: raw_coal, unit: t, role: turbine_heat"), 13, "points.1",
         "a turbine_heat point meters the heat the turbines consume"),
        (_bad_measured(measure="electricity"), 10, "measured_fuels.0.measure",
         "'electricity' has no measured calorific value"),
        (_bad_measured(valid_to="2026-10-31"), 10, "measured_fuels.0",
         "valid_to 2026-10-31 is before valid_from"),
        (_bad_measured(ncv_gj_per_unit="23450"), 10, "measured_fuels.0",
         "far from the default 20.908 GJ/t"),
        (_bad_measured(measured_on="2026-12-07"), 10, "measured_fuels.0",
         "is after the period"),
        (_bad_measured(report_ref='""'), 16, "measured_fuels.0.report_ref", "at least 1"),
        (OVERLAP, 19, "measured_fuels.1", "a second measured value of raw_coal"),
    ],
)  # fmt: skip
def test_bad_fields_are_refused_whole(
    engine: sa.Engine, tmp_path: Path, text: str, line: int, field: str, words: str
) -> None:
    import_registry_file(engine, _write(tmp_path, HEAD + MEASURED + DEVICE, "good.yaml"))
    before = _rows(
        engine, "SELECT (SELECT count(*) FROM points), (SELECT count(*) FROM measured_fuels)"
    )
    with pytest.raises(RegistryError) as caught:
        import_registry_file(engine, _write(tmp_path, text))
    problems = caught.value.problems
    assert any(
        p.line == line and p.field is not None and p.field.endswith(field) and words in p.message
        for p in problems
    ), [str(p) for p in problems]
    after = _rows(
        engine, "SELECT (SELECT count(*) FROM points), (SELECT count(*) FROM measured_fuels)"
    )
    assert after == before
