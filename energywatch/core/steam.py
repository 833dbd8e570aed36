"""Specific enthalpy of water and steam by IAPWS-IF97 (regions 1, 2 and the saturation line).

Steam and hot water metered by mass become heat (GJ) by their enthalpy (docs/computation.md,
"Steam and hot water metered in tonnes"). The equations are those of the IAPWS Revised
Release on the IAPWS Industrial Formulation 1997 for the Thermodynamic Properties of Water and
Steam (IAPWS R7-97(2012)): region 1 (liquid) eq. 7 with the coefficients of table 2, region 2
(vapour) eq. 15-17 with tables 10 and 11, the saturation line eq. 30 and 31 with table 34, the
boundary between regions 2 and 3 eq. 5 with table 1. The tests check them against the
release's own verification values (tables 5, 15 and 35).

Why not a library: the maintained ones on PyPI (`iapws`, GPL-3.0; `pyXSteam`, GPL-2.0) are
licensed under terms this Apache-2.0 project cannot take on, and only these forward equations
are needed: a few explicit polynomials, computed once per point at registry import.

Temperatures are in degrees Celsius and pressures absolute in MPa at this module's edge; inside,
the release's units (K, MPa, kJ/kg).
"""

from __future__ import annotations

import math

R = 0.461526  # kJ/(kg K), specific gas constant of ordinary water (eq. 1)
T_CRITICAL_K = 647.096
P_CRITICAL_MPA = 22.064
KELVIN = 273.15
P_TRIPLE_MPA = 611.212677e-6
T_REGION_1_3_K = 623.15  # regions 1 and 3 meet on this isotherm
T_MAX_REGION_2_K = 1073.15
P_MAX_MPA = 100.0

# Region 1, table 2: (I, J, n)
_R1 = (
    (0, -2, 0.14632971213167),
    (0, -1, -0.84548187169114),
    (0, 0, -0.37563603672040e1),
    (0, 1, 0.33855169168385e1),
    (0, 2, -0.95791963387872),
    (0, 3, 0.15772038513228),
    (0, 4, -0.16616417199501e-1),
    (0, 5, 0.81214629983568e-3),
    (1, -9, 0.28319080123804e-3),
    (1, -7, -0.60706301565874e-3),
    (1, -1, -0.18990068218419e-1),
    (1, 0, -0.32529748770505e-1),
    (1, 1, -0.21841717175414e-1),
    (1, 3, -0.52838357969930e-4),
    (2, -3, -0.47184321073267e-3),
    (2, 0, -0.30001780793026e-3),
    (2, 1, 0.47661393906987e-4),
    (2, 3, -0.44141845330846e-5),
    (2, 17, -0.72694996297594e-15),
    (3, -4, -0.31679644845054e-4),
    (3, 0, -0.28270797985312e-5),
    (3, 6, -0.85205128120103e-9),
    (4, -5, -0.22425281908000e-5),
    (4, -2, -0.65171222895601e-6),
    (4, 10, -0.14341729937924e-12),
    (5, -8, -0.40516996860117e-6),
    (8, -11, -0.12734301741641e-8),
    (8, -6, -0.17424871230634e-9),
    (21, -29, -0.68762131295531e-18),
    (23, -31, 0.14478307828521e-19),
    (29, -38, 0.26335781662795e-22),
    (30, -39, -0.11947622640071e-22),
    (31, -40, 0.18228094581404e-23),
    (32, -41, -0.93537087292458e-25),
)

# Region 2, ideal-gas part, table 10: (J°, n°)
_R2_IDEAL = (
    (0, -0.96927686500217e1),
    (1, 0.10086655968018e2),
    (-5, -0.56087911283020e-2),
    (-4, 0.71452738081455e-1),
    (-3, -0.40710498223928),
    (-2, 0.14240819171444e1),
    (-1, -0.43839511319450e1),
    (2, -0.28408632460772),
    (3, 0.21268463753307e-1),
)

# Region 2, residual part, table 11: (I, J, n)
_R2_RESIDUAL = (
    (1, 0, -0.17731742473213e-2),
    (1, 1, -0.17834862292358e-1),
    (1, 2, -0.45996013696365e-1),
    (1, 3, -0.57581259083432e-1),
    (1, 6, -0.50325278727930e-1),
    (2, 1, -0.33032641670203e-4),
    (2, 2, -0.18948987516315e-3),
    (2, 4, -0.39392777243355e-2),
    (2, 7, -0.43797295650573e-1),
    (2, 36, -0.26674547914087e-4),
    (3, 0, 0.20481737692309e-7),
    (3, 1, 0.43870667284435e-6),
    (3, 3, -0.32277677238570e-4),
    (3, 6, -0.15033924542148e-2),
    (3, 35, -0.40668253562649e-1),
    (4, 1, -0.78847309559367e-9),
    (4, 2, 0.12790717852285e-7),
    (4, 3, 0.48225372718507e-6),
    (5, 7, 0.22922076337661e-5),
    (6, 3, -0.16714766451061e-10),
    (6, 16, -0.21171472321355e-2),
    (6, 35, -0.23895741934104e2),
    (7, 0, -0.59059564324270e-17),
    (7, 11, -0.12621808899101e-5),
    (7, 25, -0.38946842435739e-1),
    (8, 8, 0.11256211360459e-10),
    (8, 36, -0.82311340897998e1),
    (9, 13, 0.19809712802088e-7),
    (10, 4, 0.10406965210174e-18),
    (10, 10, -0.10234747095929e-12),
    (10, 14, -0.10018179379511e-8),
    (16, 29, -0.80882908646985e-10),
    (16, 50, 0.10693031879409),
    (18, 57, -0.33662250574171),
    (20, 20, 0.89185845355421e-24),
    (20, 35, 0.30629316876232e-12),
    (20, 48, -0.42002467698208e-5),
    (21, 21, -0.59056029685639e-25),
    (22, 53, 0.37826947613457e-5),
    (23, 39, -0.12768608934681e-14),
    (24, 26, 0.73087610595061e-28),
    (24, 40, 0.55414715350778e-16),
    (24, 58, -0.94369707241210e-6),
)

# Saturation line, table 34: n1 ... n10
_SAT = (
    0.11670521452767e4,
    -0.72421316703206e6,
    -0.17073846940092e2,
    0.12020824702470e5,
    -0.32325550322333e7,
    0.14915108613530e2,
    -0.48232657361591e4,
    0.40511340542057e6,
    -0.23855557567849,
    0.65017534844798e3,
)

# Boundary between regions 2 and 3, table 1: n1 ... n3 of eq. 5
_B23 = (0.34805185628969e3, -0.11671859879975e1, 0.10192970039326e-2)


class OutOfRange(ValueError):
    """A state outside what regions 1 and 2 of IF97 cover."""


def enthalpy_region1(t_k: float, p_mpa: float) -> float:
    """h in kJ/kg of liquid water (eq. 7: h = R T tau gamma_tau)."""
    pi, tau = p_mpa / 16.53, 1386.0 / t_k
    gamma_tau = sum(n * (7.1 - pi) ** i * j * (tau - 1.222) ** (j - 1) for i, j, n in _R1)
    return R * t_k * tau * gamma_tau


def enthalpy_region2(t_k: float, p_mpa: float) -> float:
    """h in kJ/kg of steam (eq. 15: h = R T tau (gamma°_tau + gamma^r_tau))."""
    pi, tau = p_mpa, 540.0 / t_k
    ideal = sum(n * j * tau ** (j - 1) for j, n in _R2_IDEAL)
    residual = sum(n * pi**i * j * (tau - 0.5) ** (j - 1) for i, j, n in _R2_RESIDUAL)
    return R * t_k * tau * (ideal + residual)


def saturation_pressure(t_k: float) -> float:
    """p_s(T) in MPa (eq. 30), 273.15 K <= T <= 647.096 K."""
    n = _SAT
    theta = t_k + n[8] / (t_k - n[9])
    a = theta**2 + n[0] * theta + n[1]
    b = n[2] * theta**2 + n[3] * theta + n[4]
    c = n[5] * theta**2 + n[6] * theta + n[7]
    return (2 * c / (-b + math.sqrt(b * b - 4 * a * c))) ** 4


def saturation_temperature(p_mpa: float) -> float:
    """T_s(p) in K (eq. 31), 611.213 Pa <= p <= 22.064 MPa."""
    n = _SAT
    beta = p_mpa**0.25
    e = beta**2 + n[2] * beta + n[5]
    f = n[0] * beta**2 + n[3] * beta + n[6]
    g = n[1] * beta**2 + n[4] * beta + n[7]
    d = 2 * g / (-f - math.sqrt(f * f - 4 * e * g))
    return (n[9] + d - math.sqrt((n[9] + d) ** 2 - 4 * (n[8] + n[9] * d))) / 2


def boundary_23_pressure(t_k: float) -> float:
    """p in MPa on the boundary between regions 2 and 3 (eq. 5)."""
    n1, n2, n3 = _B23
    return n1 + n2 * t_k + n3 * t_k**2


def _check_pressure(p_mpa: float) -> None:
    if not P_TRIPLE_MPA <= p_mpa <= P_MAX_MPA:
        raise OutOfRange(f"pressure {p_mpa} MPa is outside {P_TRIPLE_MPA:.6f}-{P_MAX_MPA} MPa")


def liquid_enthalpy(t_c: float, p_mpa: float) -> float:
    """kJ/kg of compressed or saturated liquid water at t_c °C and p_mpa MPa (region 1)."""
    _check_pressure(p_mpa)
    t_k = t_c + KELVIN
    if not KELVIN <= t_k <= T_REGION_1_3_K:
        raise OutOfRange(f"water at {t_c} °C is outside IF97 region 1 (0-350 °C)")
    if p_mpa < saturation_pressure(t_k):
        raise OutOfRange(
            f"at {p_mpa} MPa water boils at {saturation_temperature(p_mpa) - KELVIN:.2f} °C:"
            f" {t_c} °C is steam, not water"
        )
    return enthalpy_region1(t_k, p_mpa)


def steam_enthalpy(t_c: float, p_mpa: float) -> float:
    """kJ/kg of superheated or saturated steam at t_c °C and p_mpa MPa (region 2)."""
    _check_pressure(p_mpa)
    t_k = t_c + KELVIN
    if not KELVIN <= t_k <= T_MAX_REGION_2_K:
        raise OutOfRange(f"steam at {t_c} °C is outside IF97 region 2 (0-800 °C)")
    if t_k <= T_REGION_1_3_K:
        # a state a hair below T_s from rounding the meter's figures is still saturated steam
        if p_mpa > saturation_pressure(t_k) * (1 + 1e-9):
            raise OutOfRange(
                f"at {p_mpa} MPa steam condenses below"
                f" {saturation_temperature(p_mpa) - KELVIN:.2f} °C: {t_c} °C is water"
            )
    elif p_mpa > boundary_23_pressure(t_k):
        raise OutOfRange(f"{p_mpa} MPa at {t_c} °C lies in IF97 region 3 (near-critical)")
    return enthalpy_region2(t_k, p_mpa)


def saturated_steam_enthalpy(p_mpa: float) -> float:
    """kJ/kg of dry saturated steam at p_mpa MPa: region 2 on the saturation line."""
    _check_pressure(p_mpa)
    t_k = saturation_temperature(p_mpa)
    if t_k > T_REGION_1_3_K:
        raise OutOfRange(f"saturated steam above {T_REGION_1_3_K - KELVIN} °C is in region 3")
    return enthalpy_region2(t_k, p_mpa)
