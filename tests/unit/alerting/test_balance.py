"""Site sums as the energy balance: level-1 inputs less exports (energywatch/storage/balance.py)."""

from __future__ import annotations

import math

import pytest

from energywatch.storage.balance import balance_sign
from services.alerting.inputs import SiteSums
from services.alerting.measure import _coal_for_power
from services.alerting.registry import balance_role


def sums(*rows: tuple[str, int, str, float, float]) -> SiteSums:
    """rows: (role, metering level, measure, quantity, tce) of one site."""
    return SiteSums(
        {
            1: [
                (balance_role(role, balance_sign(role, level)), measure, None, q, tce, 0.0)
                for role, level, measure, q, tce in rows
            ]
        }
    )


def test_sub_meters_and_recovered_energy_do_not_add_and_exports_subtract() -> None:
    site = sums(
        ("consumption", 1, "electricity", 1000.0, 0.1229),
        ("consumption", 2, "electricity", 400.0, 0.04916),  # inside the level-1 figure
        ("recovered", 1, "heat", 30.0, 1.0236),  # from the fuel already counted
        ("feedstock", 1, "raw_coal", 10.0, 7.143),
        ("export", 1, "coke_oven_gas", 1000.0, 0.5714),
    )
    assert site.net(1, 1) == pytest.approx(0.1229 + 7.143 - 0.5714, rel=1e-12)
    assert site.net(1, 0, measure="electricity") == 1000.0
    assert site.total(1, "submeter", 0) == 400.0


def test_a_converter_plant_that_exports_more_than_it_takes_has_a_negative_intensity() -> None:
    # GB 21256 levels for converter steel are negative (about -30/-25/-10 kgce/t): the
    # recovered converter gas it sells outweighs what it takes in.
    site = sums(
        ("consumption", 1, "electricity", 80_000.0, 20.0),
        ("export", 1, "blast_furnace_gas", 0.0, 48.0),
        ("output", 1, "product", 1000.0, 0.0),
    )
    intensity = 1000.0 * site.net(1, 1) / site.total(1, "output", 0)
    assert intensity == pytest.approx(-28.0)
    assert intensity < -10.0  # below the limit level: no breach


def test_a_site_without_inputs_has_no_total() -> None:
    assert math.isnan(sums(("output", 1, "product", 5.0, 0.0)).net(1, 1))


def test_the_worked_figures_of_the_computation_page() -> None:
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[3] / "docs" / "computation.md").read_text()
    total = re.search(r"total = 0\.1229 \+ 7\.143 − 0\.5714 = ([0-9.]+) tce", page)
    converter = re.search(r"\(20 − 48\) × 1000 / 1000 = −([0-9.]+) kgce/t", page)
    assert total and converter, "the worked figures moved on docs/computation.md"
    site = sums(
        ("consumption", 1, "electricity", 1000.0, 0.1229),
        ("consumption", 2, "electricity", 400.0, 0.04916),
        ("recovered", 1, "heat", 30.0, 1.0236),
        ("feedstock", 1, "raw_coal", 10.0, 7.143),
        ("export", 1, "coke_oven_gas", 1000.0, 0.5714),
    )
    assert site.net(1, 1) == pytest.approx(float(total[1]), rel=1e-9)
    plant = sums(("consumption", 1, "electricity", 0.0, 20.0), ("export", 1, "heat", 0.0, 48.0))
    assert 1000.0 * plant.net(1, 1) / 1000.0 == pytest.approx(-float(converter[1]), rel=1e-9)


def test_a_chp_plant_charges_power_with_its_share_of_the_fuel_only() -> None:
    # docs/computation.md, "CHP: supply coal rate": DL/T 904 heat ratio 12,000 / 39,000
    site = sums(
        ("consumption", 1, "raw_coal", 1950.0, 1392.885),
        ("export", 1, "heat", 12000.0, 409.44),
        ("turbine_heat", 1, "heat", 39000.0, 1330.68),
        ("supply", 1, "electricity", 3e6, 368.7),
    )
    assert _coal_for_power(site, 1) == pytest.approx(1392.885 * 27 / 39, rel=1e-12)
    # without turbine heat metered, the former rule: the balance, inputs less exports
    plain = sums(
        ("consumption", 1, "raw_coal", 1950.0, 1392.885),
        ("export", 1, "heat", 12000.0, 409.44),
    )
    assert _coal_for_power(plain, 1) == pytest.approx(1392.885 - 409.44, rel=1e-12)
