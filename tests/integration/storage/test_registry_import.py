"""Registry import: valid files load; each kind of bad file is refused whole."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from energywatch.errors import RegistryError
from energywatch.storage.engine import make_engine
from energywatch.storage.passwords import verify_password
from energywatch.storage.registry import import_registry_file

DATA = Path(__file__).parents[2] / "data" / "registry"


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url, pool_size=1)
    yield engine
    engine.dispose()


def _count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _counts(engine: sa.Engine) -> tuple[int, int, int]:
    return (_count(engine, "sites"), _count(engine, "devices"), _count(engine, "points"))


def test_valid_yaml_loads_and_reimport_updates_in_place(engine: sa.Engine) -> None:
    summary = import_registry_file(engine, DATA / "valid.yaml")
    assert (summary.sites, summary.devices, summary.points) == (3, 3, 10)
    assert _counts(engine) == (3, 3, 10)
    with engine.connect() as conn:
        hashed = conn.execute(
            sa.text(
                "SELECT password_hash FROM devices d JOIN sites s ON s.id = d.site_id"
                " WHERE s.code = 'TY-COKE-01'"
            )
        ).scalar_one()
        it_role = conn.execute(sa.text("SELECT role FROM points WHERE code = 'IT1'")).scalar_one()
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "gateway-password-1")
    assert not verify_password(hashed, "wrong")
    assert it_role == "it_load"
    import_registry_file(engine, DATA / "valid.yaml")
    assert _counts(engine) == (3, 3, 10)


def test_points_csv_adds_points_and_devices_to_known_sites(engine: sa.Engine) -> None:
    import_registry_file(engine, DATA / "valid.yaml")
    summary = import_registry_file(engine, DATA / "points.csv")
    assert (summary.devices, summary.points) == (2, 2)
    assert _counts(engine) == (3, 4, 12)


@pytest.mark.parametrize(
    ("file", "line", "field", "words"),
    [
        ("bad_energy_type.yaml", 11, "measure", "unknown energy type or measurand 'moonlight'"),
        ("bad_credit_code.yaml", 5, "credit_code", "check digit is 'D', expected 'C'"),
        ("duplicate_point.yaml", 13, "code", "duplicate point id 'E01'"),
        ("wrong_unit.yaml", 10, "points.0", "unit 'kWh' is wrong for natural_gas"),
        ("export_below_level_one.yaml", 10, "points.0", "energy leaving the enterprise"),
        ("corrected_o2_on_o2.yaml", 10, "points.1", "corrected_o2 is for pollutant"),
        ("missing_column.csv", 1, "unit", "missing column 'unit'"),
        ("duplicate_point.csv", 3, "code", "duplicate point id 'E02'"),
    ],
)
def test_bad_file_is_refused_whole_with_precise_problem(
    engine: sa.Engine, file: str, line: int, field: str, words: str
) -> None:
    import_registry_file(engine, DATA / "valid.yaml")
    before = _counts(engine)
    with pytest.raises(RegistryError) as caught:
        import_registry_file(engine, DATA / file)
    problems = caught.value.problems
    assert any(
        p.line == line and p.field is not None and p.field.endswith(field) and words in p.message
        for p in problems
    ), [str(p) for p in problems]
    assert all(p.file.endswith(file) for p in problems)
    assert _counts(engine) == before


def test_csv_point_of_unknown_site_writes_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    csv = tmp_path / "points.csv"
    csv.write_text(
        "site,device,code,measure,unit,kind\nNOWHERE,gw,E1,electricity,kWh,cumulative\n",
        encoding="utf-8",
    )
    with pytest.raises(RegistryError, match=r"points.csv:2 \[site\]: unknown site 'NOWHERE'"):
        import_registry_file(engine, csv)
    assert _counts(engine) == (0, 0, 0)


def test_cli_reports_problems_and_exit_code(db_url: str) -> None:
    env = {"ENERGYWATCH_DATABASE__URL": db_url, "ENERGYWATCH_DEMO": "1", "PATH": ""}
    cli = [sys.executable, "-m", "energywatch", "registry", "import"]
    bad = subprocess.run(
        [*cli, str(DATA / "bad_credit_code.yaml")], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "refused, nothing was written" in bad.stderr
    assert "bad_credit_code.yaml:5 [sites.0.credit_code]" in bad.stderr
    good = subprocess.run([*cli, str(DATA / "valid.yaml")], env=env, capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert "imported 3 sites, 3 devices, 10 points" in good.stdout
