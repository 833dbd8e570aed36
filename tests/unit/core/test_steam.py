"""IAPWS-IF97 enthalpies against the verification values the release itself gives."""

from __future__ import annotations

import pytest

from energywatch.core import steam

# IAPWS R7-97(2012), table 5 (region 1) and table 15 (region 2): (T K, p MPa, h kJ/kg)
REGION_1 = [(300, 3, 0.115331273e3), (300, 80, 0.184142828e3), (500, 3, 0.975542239e3)]
REGION_2 = [(300, 0.0035, 0.254991145e4), (700, 0.0035, 0.333568375e4), (700, 30, 0.263149474e4)]
# table 35: p_s(T); table 36: T_s(p)
SATURATION_P = [(300, 0.353658941e-2), (500, 0.263889776e1), (600, 0.123443146e2)]
SATURATION_T = [(0.1, 0.372755919e3), (1, 0.453035632e3), (10, 0.584149488e3)]


def nine_digits(x: float) -> str:
    """The tables print nine significant digits: the code must round to the same figure."""
    return f"{x:.8e}"


@pytest.mark.parametrize(("t", "p", "h"), REGION_1)
def test_region_1(t: float, p: float, h: float) -> None:
    assert nine_digits(steam.enthalpy_region1(t, p)) == nine_digits(h)


@pytest.mark.parametrize(("t", "p", "h"), REGION_2)
def test_region_2(t: float, p: float, h: float) -> None:
    assert nine_digits(steam.enthalpy_region2(t, p)) == nine_digits(h)


@pytest.mark.parametrize(("t", "p"), SATURATION_P)
def test_saturation_pressure(t: float, p: float) -> None:
    assert nine_digits(steam.saturation_pressure(t)) == nine_digits(p)


@pytest.mark.parametrize(("p", "t"), SATURATION_T)
def test_saturation_temperature(p: float, t: float) -> None:
    assert nine_digits(steam.saturation_temperature(p)) == nine_digits(t)


def test_boundary_23() -> None:
    # eq. 5 at T = 623.15 K gives 16.5291643 MPa (release, section 4)
    assert nine_digits(steam.boundary_23_pressure(623.15)) == nine_digits(0.165291643e2)


def test_celsius_edges_choose_the_region_and_refuse_the_wrong_phase() -> None:
    assert steam.steam_enthalpy(250.0, 1.0) == pytest.approx(
        steam.enthalpy_region2(523.15, 1.0), rel=1e-15
    )
    assert steam.liquid_enthalpy(90.0, 0.6) == pytest.approx(
        steam.enthalpy_region1(363.15, 0.6), rel=1e-15
    )
    # dry saturated steam lies on region 2's edge, at T_s(p)
    t_s = steam.saturation_temperature(1.0)
    assert steam.saturated_steam_enthalpy(1.0) == steam.enthalpy_region2(t_s, 1.0)
    with pytest.raises(steam.OutOfRange, match="is water"):
        steam.steam_enthalpy(150.0, 1.0)
    with pytest.raises(steam.OutOfRange, match="is steam"):
        steam.liquid_enthalpy(120.0, 0.101325)
    with pytest.raises(steam.OutOfRange, match="region 3"):
        steam.steam_enthalpy(360.0, 20.0)
    with pytest.raises(steam.OutOfRange, match="pressure"):
        steam.steam_enthalpy(200.0, 0.0)
