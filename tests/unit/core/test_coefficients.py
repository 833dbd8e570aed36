from datetime import date

import pytest

from energywatch.core.coefficients import coal_coefficient, conversion_for, emission_factor
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
