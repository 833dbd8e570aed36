"""Unit balances (energywatch/core/unit_balance.py) over random trees of process units."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from energywatch.core.unit_balance import (
    WHOLE_SITE,
    Flow,
    Unit,
    intensity,
    site_balance,
    unit_sign,
)

MEASURES = ("electricity", "natural_gas", "steam", "coke_oven_gas")


def flow(
    point: str,
    unit: str | None,
    tce: float,
    role: str = "consumption",
    level: int = 2,
    measure: str = "natural_gas",
    product: str | None = None,
) -> Flow:
    return Flow(point, unit, role, level, measure, product, tce * 1000, tce, tce * 2.5)


@st.composite
def sites(draw: st.DrawFn) -> tuple[list[Unit], list[Flow], float, float]:
    """A random tree of units with sub-meters, recovered energy and products; the level-1
    meters read what the sub-meters read plus a loss (and less what is sold). Returns
    (units, flows, loss tce, exported tce)."""
    n = draw(st.integers(1, 8))
    units = []
    for i in range(n):
        parent = draw(st.none() | st.integers(0, i - 1)) if i else None
        kind = draw(st.sampled_from(["production", "production", "utility"]))
        units.append(Unit(f"U{i}", f"unit {i}", None if parent is None else f"U{parent}", kind))
    amount = st.floats(0.0, 1e4, allow_nan=False)
    flows: list[Flow] = []
    metered = 0.0
    for u in units:
        for k in range(draw(st.integers(0, 3))):
            tce = draw(amount)
            measure = draw(st.sampled_from(MEASURES))
            flows.append(flow(f"{u.code}-in{k}", u.code, tce, measure=measure))
            metered += tce
        if draw(st.booleans()):  # equipment inside a sub-meter: counted nowhere
            flows.append(flow(f"{u.code}-eq", u.code, draw(amount), level=3))
        if draw(st.booleans()):
            tce = draw(amount)
            flows.append(flow(f"{u.code}-rec", u.code, tce, role="recovered", measure="steam"))
            metered -= tce
        if u.kind == "production" and draw(st.booleans()):
            t = draw(st.floats(1.0, 1e4))
            flows.append(flow(f"{u.code}-out", u.code, 0.0, "output", 1, "product", u.code))
            flows[-1] = Flow(flows[-1].point, u.code, "output", 1, "product", u.code, t, 0, 0)
    loss = draw(amount)
    exported = draw(amount)
    # The boundary meters: everything the units use, the loss, and what is sold on top.
    flows.append(flow("L1-in", None, metered + loss + exported, level=1))
    flows.append(flow("L1-out", None, exported, role="export", level=1))
    return units, flows, loss, exported


@given(sites())
@settings(max_examples=300, deadline=None)
def test_site_total_is_the_unit_balances_plus_unmetered(
    site: tuple[list[Unit], list[Flow], float, float],
) -> None:
    units, flows, loss, _ = site
    got = site_balance(units, flows)
    roots = sum(float(b.balance.tce) for b in got.units if b.parent is None)
    scale = max(1.0, sum(abs(float(f.tce)) for f in flows))
    assert math.isclose(
        float(got.total.tce), roots + float(got.unmetered.tce), abs_tol=1e-9 * scale
    )
    # The unmetered line is exactly what the sub-meters miss: the loss drawn above.
    assert math.isclose(float(got.unmetered.tce), loss, abs_tol=1e-9 * scale)
    # Allocation moves energy between units and creates none.
    moved = sum(float(b.allocated.tce) for b in got.units)
    assert math.isclose(moved, 0.0, abs_tol=1e-9 * scale)
    # A parent's balance holds its children's.
    for b in got.units:
        own = float(b.own.tce) + float(b.allocated.tce)
        kids = sum(float(c.balance.tce) for c in got.units if c.parent == b.code)
        assert math.isclose(float(b.balance.tce), own + kids, abs_tol=1e-9 * scale)


@given(sites(), st.floats(0.0, 1e4), st.sampled_from([2, 3]))
@settings(max_examples=200, deadline=None)
def test_adding_a_sub_meter_changes_no_site_total(
    site: tuple[list[Unit], list[Flow], float, float], tce: float, level: int
) -> None:
    units, flows, _, _ = site
    before = site_balance(units, flows)
    after = site_balance(units, [*flows, flow("new", units[0].code, tce, level=level)])
    assert after.total == before.total
    # The new meter's energy moves from "unmetered" into its unit when it is a level-2 one.
    change = float(before.unmetered.tce) - float(after.unmetered.tce)
    assert math.isclose(change, tce if level == 2 else 0.0, rel_tol=1e-9, abs_tol=1e-6)


def test_signs_at_the_unit_boundary() -> None:
    assert unit_sign("consumption", 2) == unit_sign("feedstock", 2) == 1
    assert unit_sign("consumption", 1) == unit_sign("consumption", 3) == 0
    assert unit_sign("recovered", 2) == unit_sign("recovered", 1) == -1
    assert unit_sign("recovered", 3) == unit_sign("export", 1) == unit_sign("output", 1) == 0
    # A conversion inside a works (coke ovens): charged in, products out, at level 2.
    assert unit_sign("transformation_input", 2) == 1
    assert unit_sign("transformation_output", 2) == -1
    assert unit_sign("transformation_input", 1) == unit_sign("transformation_output", 1) == 0


def test_a_site_without_units_is_one_unit_with_todays_figures() -> None:
    flows = [
        flow("E01", None, 10.0, level=1, measure="electricity"),
        flow("E02", None, 4.0, level=2, measure="electricity"),  # sub-meter: nothing
        flow("H01", None, 3.0, role="recovered", level=1, measure="steam"),  # shown only
        flow("G01", None, 2.0, role="export", level=1, measure="coke_oven_gas"),
        Flow("P01", None, "output", 1, "product", "coke_top_charged", 100.0, 0.0, 0.0),
    ]
    got = site_balance([], flows)
    [whole] = got.units
    assert whole.code == WHOLE_SITE and got.unmetered.tce == 0.0
    assert whole.balance.tce == got.total.tce == 8.0
    assert [r.measure for r in whole.recovered] == ["steam"]
    energy, output, value = intensity(got, "coke_top_charged", 1e-3)
    assert (float(energy), float(output), float(value)) == (8.0, 100.0, 80.0)


def test_utilities_go_to_producers_by_their_metered_input() -> None:
    units = [
        Unit("A", "a"),
        Unit("B", "b"),
        Unit("C", "c (makes nothing)"),
        Unit("W", "water and air", kind="utility"),
    ]
    flows = [
        flow("a", "A", 30.0),
        flow("b", "B", 10.0),
        flow("c", "C", 50.0),
        flow("w", "W", 8.0),
        Flow("pa", "A", "output", 1, "product", "sinter", 10.0, 0, 0),
        Flow("pb", "B", "output", 1, "product", "pellet", 10.0, 0, 0),
    ]
    got = {b.code: b for b in site_balance(units, flows).units}
    assert float(got["A"].allocated.tce) == 6.0 and float(got["B"].allocated.tce) == 2.0
    assert float(got["C"].allocated.tce) == 0.0 and float(got["W"].balance.tce) == 0.0
    # No producer with metered input: the utility keeps its energy, shown in its balance.
    idle = [f for f in flows if f.point not in ("a", "b")]
    kept = {b.code: b for b in site_balance(units, idle).units}
    assert float(kept["W"].balance.tce) == 8.0 and float(kept["A"].allocated.tce) == 0.0


def test_arrays_run_every_window_at_once() -> None:
    units = [Unit("A", "a"), Unit("W", "w", kind="utility")]
    a = np.array([1.0, 0.0, 3.0])
    flows = [
        Flow("a", "A", "consumption", 2, "natural_gas", None, a, a, a),
        Flow("w", "W", "consumption", 2, "electricity", None, a * 0 + 2, a * 0 + 2, a * 0 + 2),
        Flow("p", "A", "output", 1, "product", "sinter", a * 0 + 1, a * 0, a * 0),
    ]
    got = site_balance(units, flows)
    one_by_one = [
        site_balance(
            units,
            [
                Flow(
                    f.point,
                    f.unit,
                    f.role,
                    f.metering_level,
                    f.measure,
                    f.product,
                    *(float(np.asarray(x)[i]) for x in (f.quantity, f.tce, f.tco2)),
                )
                for f in flows
            ],
        )
        for i in range(3)
    ]
    for i, single in enumerate(one_by_one):
        for b, s in zip(got.units, single.units, strict=True):
            assert float(np.asarray(b.balance.tce)[i]) == float(s.balance.tce)
    _, _, value = intensity(got, "sinter", 1e-3)
    # The middle window has no metered input at A, so the utility keeps its 2 tce.
    assert np.asarray(value).tolist() == [3000.0, 0.0, 5000.0]
