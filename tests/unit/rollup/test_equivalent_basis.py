"""Intensity judged against the levels is at the equivalent value (当量值) whatever basis the
site reports on: the rollup converts electricity at 0.1229 kgce/kWh, and no equal-value
coefficient (等价值, which differs by year and source) reaches a stored figure."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from energywatch.reference import load_reference
from services.rollup.compute import Readings, compute
from services.rollup.conversions import PointInfo, ReferenceRows
from services.rollup.plan import Span
from tests.unit.core.strategies import property_test

Q = 900_000
T0 = 1_763_568_000_000  # a local midnight in Shanghai
MEASURES = ("electricity", "raw_coal", "natural_gas", "product")


def reference(equal_kgce_per_kwh: float) -> ReferenceRows:
    ref = load_reference()
    coal = [
        dataclasses.replace(c, kgce_per_unit=equal_kgce_per_kwh)
        if (c.measure, c.basis) == ("electricity", "equal")
        else c
        for c in ref.coal
    ]
    return ReferenceRows(coal, list(ref.emission_factors), {fs.code: fs for fs in ref.factor_sets})


def points() -> dict[int, PointInfo]:
    return {
        i: PointInfo(
            i,
            m,
            "product" if m == "product" else "energy",
            "interval",
            None,
            1.0,
            "Asia/Shanghai",
            None,
            "north",
        )
        for i, m in enumerate(MEASURES)
    }


@property_test
@given(
    uses=st.lists(
        st.tuples(*(st.floats(0.0, 1e5, allow_nan=False) for _ in MEASURES)),
        min_size=1,
        max_size=96,
    ),
    equal=st.floats(0.2, 0.6),
)
def test_intensity_does_not_depend_on_the_equal_value(
    uses: list[tuple[float, ...]], equal: float
) -> None:
    n = len(uses)
    ts = np.tile(T0 + Q * np.arange(1, n + 1, dtype=np.int64), len(MEASURES))
    span = np.repeat(np.arange(len(MEASURES), dtype=np.int64), n)
    value = np.array([u[i] for i in range(len(MEASURES)) for u in uses], dtype=np.float64)
    readings = Readings(span, ts, value, np.zeros(value.size, dtype=np.int16))
    spans = [Span(i, T0, T0 + Q * (n + 1)) for i in range(len(MEASURES))]

    def intensity(ref: ReferenceRows) -> tuple[float, float]:
        rows = compute(spans, points(), readings, ref)
        energy = rows.tce[rows.point_id != MEASURES.index("product")].sum()
        output = rows.quantity[rows.point_id == MEASURES.index("product")].sum()
        kwh = rows.quantity[rows.point_id == 0].sum()
        assert rows.tce[rows.point_id == 0].sum() == pytest.approx(kwh * 0.1229e-3, rel=1e-12)
        return energy, output

    shipped, other = intensity(reference(0.404)), intensity(reference(equal))
    assert shipped == other  # bit for bit: the equal value reaches no stored figure
