"""Process units in registry files: a tree per site, points and products placed in them,
validated as strictly as every other field (file:line [field], nothing written on error)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from energywatch.errors import RegistryError
from energywatch.storage.engine import make_engine
from energywatch.storage.registry import import_registry_file

# Line numbers below count from the first line of this text.
SITE = """\
sites:
  - code: HB-STEEL-01
    name: 钢铁联合企业
    kind: enterprise
    credit_code: 91140100MA0GRQ5H1C
    division_code: "140100"
    units:
      - {code: STEEL, name: 炼钢轧钢分厂}
      - {code: BOF, name: 转炉, parent: STEEL}
      - {code: UTIL, name: 公辅, kind: utility}
    devices:
      - code: gw
        points:
          - {code: E00, measure: electricity, unit: kWh, kind: cumulative}
          - {code: E30, measure: electricity, unit: kWh, kind: cumulative, metering_level: 2, process_unit: BOF}
          - {code: S30, measure: steam, unit: GJ, kind: cumulative, role: recovered, process_unit: BOF}
          - {code: P30, measure: product, unit: t, kind: cumulative, role: output, product: converter_steel, process_unit: BOF}
          - {code: E50, measure: electricity, unit: kWh, kind: cumulative, metering_level: 2, process_unit: UTIL}
"""  # noqa: E501 (a registry file's lines, as written)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = make_engine(db_url, pool_size=1)
    yield eng
    eng.dispose()


def _write(tmp_path: Path, text: str, name: str = "steel.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def _rows(engine: sa.Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def test_units_are_written_as_a_tree_and_points_placed_in_them(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path = _write(tmp_path, SITE)
    for _ in range(2):  # importing again updates in place
        import_registry_file(engine, path)
        units = _rows(
            engine,
            "SELECT u.code, p.code, u.kind FROM process_units u"
            " LEFT JOIN process_units p ON p.id = u.parent_id ORDER BY u.code",
        )
        assert units == [
            ("BOF", "STEEL", "production"),
            ("STEEL", None, "production"),
            ("UTIL", None, "utility"),
        ]
        placed = _rows(
            engine,
            "SELECT p.code, u.code FROM points p"
            " LEFT JOIN process_units u ON u.id = p.process_unit_id ORDER BY p.code",
        )
        assert placed == [
            ("E00", None),
            ("E30", "BOF"),
            ("E50", "UTIL"),
            ("P30", "BOF"),
            ("S30", "BOF"),
        ]


def _bad(old: str, new: str) -> str:
    """The site's text with one change."""
    assert old in SITE
    return SITE.replace(old, new)


BAD = [
    # (the file, line, field, words of the problem)
    (
        _bad("{code: BOF, name: 转炉, parent: STEEL}", "{code: BOF, name: 转炉, parent: MILL}"),
        9,
        "sites.0.units.1.parent",
        "unknown parent unit 'MILL'",
    ),
    (
        _bad("{code: STEEL, name: 炼钢轧钢分厂}", "{code: STEEL, name: 炼钢轧钢分厂, parent: BOF}"),
        8,
        "sites.0.units.0.parent",
        "units form a cycle: STEEL -> BOF -> STEEL",
    ),
    (
        _bad("{code: UTIL, name: 公辅, kind: utility}", "{code: BOF, name: 公辅, kind: utility}"),
        10,
        "sites.0.units.2.code",
        "duplicate unit code 'BOF'",
    ),
    (
        _bad("metering_level: 2, process_unit: BOF}", "metering_level: 2, process_unit: LD}"),
        15,
        "sites.0.devices.0.points.1.process_unit",
        "unknown process unit 'LD' in site HB-STEEL-01",
    ),
    (
        _bad("metering_level: 2, process_unit: BOF}", "metering_level: 2}"),
        15,
        "sites.0.devices.0.points.1.process_unit",
        "a level-2 consumption point names its process_unit",
    ),
    (
        _bad("product: converter_steel, process_unit: BOF}", "product: converter_steel}"),
        17,
        "sites.0.devices.0.points.3.process_unit",
        "an output point names its process_unit",
    ),
    (
        _bad("converter_steel, process_unit: BOF}", "converter_steel, process_unit: UTIL}"),
        17,
        "sites.0.devices.0.points.3.process_unit",
        "'UTIL' is a utility unit: it makes no product",
    ),
    (
        _bad(
            "metering_level: 2, process_unit: UTIL}",
            "metering_level: 2, process_unit: UTIL}\n"
            "          - {code: P31, measure: product, unit: t, kind: cumulative, role: output,"
            " product: converter_steel, process_unit: STEEL}",
        ),
        19,
        "sites.0.devices.0.points.5.process_unit",
        "product 'converter_steel' is made by unit 'BOF' already",
    ),
    (
        _bad("{code: UTIL, name: 公辅, kind: utility}", "{code: UTIL, name: 公辅, kind: boiler}"),
        10,
        "sites.0.units.2.kind",
        "Input should be 'production' or 'utility'",
    ),
]


@pytest.mark.parametrize(("text", "line", "field", "words"), BAD)
def test_a_bad_unit_refuses_the_file_whole(
    engine: sa.Engine,
    tmp_path: Path,
    text: str,
    line: int,
    field: str,
    words: str,
) -> None:
    with pytest.raises(RegistryError) as caught:
        import_registry_file(engine, _write(tmp_path, text))
    shown = [str(p) for p in caught.value.problems]
    assert any(
        p.line == line and p.field == field and words in p.message for p in caught.value.problems
    ), shown
    assert _rows(engine, "SELECT count(*) FROM sites") == [(0,)]
    assert _rows(engine, "SELECT count(*) FROM process_units") == [(0,)]


def test_points_csv_places_points_in_the_units_of_a_registered_site(
    engine: sa.Engine, tmp_path: Path
) -> None:
    import_registry_file(engine, _write(tmp_path, SITE))
    header = "site,device,code,measure,unit,kind,metering_level,process_unit\n"
    bad = _write(
        tmp_path,
        header
        + "HB-STEEL-01,gw2,E31,electricity,kWh,cumulative,2,BOF\n"
        + "HB-STEEL-01,gw2,E32,electricity,kWh,cumulative,2,LD\n"
        + "HB-STEEL-01,gw2,E33,electricity,kWh,cumulative,2,\n",
        "points.csv",
    )
    with pytest.raises(RegistryError) as caught:
        import_registry_file(engine, bad)
    assert [str(p) for p in caught.value.problems] == [
        f"{bad}:3 [process_unit]: unknown process unit 'LD' in site HB-STEEL-01;"
        " known: STEEL, BOF, UTIL",
        f"{bad}:4 [process_unit]: site HB-STEEL-01 has process units:"
        " a level-2 consumption point names its process_unit",
    ]
    assert _rows(engine, "SELECT count(*) FROM points WHERE code = 'E31'") == [(0,)]
    good = _write(
        tmp_path, header + "HB-STEEL-01,gw2,E31,electricity,kWh,cumulative,2,BOF\n", "ok.csv"
    )
    import_registry_file(engine, good)
    assert _rows(
        engine,
        "SELECT u.code FROM points p JOIN process_units u ON u.id = p.process_unit_id"
        " WHERE p.code = 'E31'",
    ) == [("BOF",)]
