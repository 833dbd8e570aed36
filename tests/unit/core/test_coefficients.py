from datetime import date

import pytest

from energywatch.core.coefficients import (
    MeasuredFuel,
    coal_coefficient,
    conversion_for,
    emission_factor,
)
from energywatch.reference import load_reference


@pytest.fixture(scope="module")
def ref():
    return load_reference()


def convert(
    ref,
    measure: str,
    *,
    basis: str = "equivalent",
    region: str = "national",
    on: date = date(2026, 11, 20),
):
    category = ref.measure_by_code[measure].category
    return conversion_for(
        measure,
        category,
        coal_rows=ref.coal,
        emission_rows=ref.emission_factors,
        factor_set=ref.factor_sets[0],
        coal_basis=basis,
        region=region,
        on=on,
    )


def test_electricity_at_the_equivalent_value_by_default(ref) -> None:
    c = convert(ref, "electricity")
    assert c.tce_per_unit == pytest.approx(0.1229e-3)
    assert c.coal is not None and c.coal.basis == "equivalent"


def test_equal_value_is_selectable_and_other_fuels_fall_back(ref) -> None:
    assert convert(ref, "electricity", basis="equal").coal.basis == "equal"
    assert convert(ref, "raw_coal", basis="equal").coal.basis == "equivalent"


def test_grid_factor_of_two_years_before(ref) -> None:
    c = convert(ref, "electricity", region="north", on=date(2025, 3, 1))
    assert c.emission is not None and c.emission.data_year == 2023
    assert c.tco2_per_unit == pytest.approx(0.6361e-3)


def test_unknown_region_falls_back_to_national_and_latest_year(ref) -> None:
    c = convert(ref, "electricity", region="atlantis", on=date(2030, 1, 1))
    assert c.emission.region == "national" and c.emission.data_year == 2023


def test_fuel_factor_from_the_set(ref) -> None:
    c = convert(ref, "natural_gas")
    assert c.tco2_per_unit == pytest.approx(2.16e-3, rel=0.01)  # ~2.16 kgCO2 per m3


def test_products_convert_to_nothing(ref) -> None:
    assert convert(ref, "product").tce_per_unit == 0.0


def test_before_the_first_edition_the_earliest_is_used(ref) -> None:
    row = coal_coefficient(ref.coal, "coke", "equivalent", date(2010, 1, 1))
    assert row is not None and row.kgce_per_unit == pytest.approx(971.4)


def test_no_factor_for_a_measure_outside_the_set(ref) -> None:
    assert (
        emission_factor(ref.emission_factors, ref.factor_sets[0], "so2", "national", 2026) is None
    )


def _measured(**values) -> MeasuredFuel:
    return MeasuredFuel(
        measure="raw_coal",
        valid_from=date(2026, 11, 1),
        valid_to=date(2026, 11, 30),
        laboratory="lab",
        report_ref="R-1",
        sampled_by="shift B",
        measured_on=date(2026, 11, 7),
        **{"ncv_gj_per_unit": None, "carbon_tc_per_tj": None, **values},
    )


def convert_measured(ref, measured: MeasuredFuel, on: date = date(2026, 11, 20)):
    return conversion_for(
        "raw_coal",
        "energy",
        coal_rows=ref.coal,
        emission_rows=ref.emission_factors,
        factor_set=ref.factor_sets[0],
        coal_basis="equivalent",
        region="national",
        on=on,
        measured=[measured],
    )


def test_measured_values_replace_the_defaults_on_the_days_they_cover(ref) -> None:
    both = _measured(ncv_gj_per_unit=23.45, carbon_tc_per_tj=26.80)
    c = convert_measured(ref, both)
    assert c.tce_per_unit == pytest.approx(23.45 / 29.307, rel=1e-12)
    assert c.tco2_per_unit == pytest.approx(23.45 * 26.80 / 1000 * 0.94 * 44 / 12, rel=1e-12)
    assert c.measured == both
    # outside the period: the defaults (0.7143 kgce/kg; 20.908 GJ/t x 26.37 tC/TJ x 0.94)
    d = convert_measured(ref, both, on=date(2026, 12, 1))
    assert d.tce_per_unit == pytest.approx(0.7143)
    assert d.tco2_per_unit == pytest.approx(20.908 * 26.37 / 1000 * 0.94 * 44 / 12, rel=1e-12)
    assert d.measured is None


def test_a_measured_carbon_content_alone_keeps_the_default_coal_and_ncv(ref) -> None:
    c = convert_measured(ref, _measured(carbon_tc_per_tj=28.0))
    assert c.tce_per_unit == pytest.approx(0.7143)
    assert c.tco2_per_unit == pytest.approx(20.908 * 28.0 / 1000 * 0.94 * 44 / 12, rel=1e-12)
    n = convert_measured(ref, _measured(ncv_gj_per_unit=22.0))
    assert n.tco2_per_unit == pytest.approx(22.0 * 26.37 / 1000 * 0.94 * 44 / 12, rel=1e-12)


@pytest.mark.parametrize(("measure", "via"), [("steam_mass", "steam"), ("hot_water_mass", "heat")])
def test_mass_metered_heat_converts_by_its_heat_per_tonne(ref, measure: str, via: str) -> None:
    heat = convert(ref, via)
    c = conversion_for(
        measure,
        "energy",
        coal_rows=ref.coal,
        emission_rows=ref.emission_factors,
        factor_set=ref.factor_sets[0],
        coal_basis="equivalent",
        region="national",
        on=date(2026, 11, 20),
        heat_gj_per_unit=2.5,
    )
    assert c.tce_per_unit == pytest.approx(2.5 * 34.12e-3, rel=1e-12)
    assert c.tce_per_unit == pytest.approx(2.5 * heat.tce_per_unit, rel=1e-12)
    assert c.tco2_per_unit == pytest.approx(2.5 * 0.11, rel=1e-12)
    with pytest.raises(ValueError, match="heat per tonne"):
        convert(ref, measure)
