"""How each metered point enters the enterprise's comprehensive energy consumption.

GB/T 2589-2020 (综合能耗计算通则; chapters 4 计算原则, 5 边界划分, 6 计算范围): the
comprehensive consumption of an enterprise is the energy it actually used within its boundary:
what it received, less what it delivered to others; energy it recovered (余热余能) and used
itself is not counted again, since the fuel it came from is already counted. GB 17167
(用能单位能源计量器具配备和管理通则): level-1 meters measure what crosses the enterprise's
boundary, levels 2 and 3 the energy of its process units and main equipment. So the site total
takes level-1 points only (docs/computation.md, "The enterprise total"):

| role        | level 1 | levels 2-3 |
| ---         | ---     | ---        |
| consumption | +1      | 0 (sub-meters: unit balances, never the site total) |
| feedstock   | +1 (consumption, recorded apart: 原料用能, deducted in the regional ledger) | 0 |
| export      | -1 (sold or delivered to others: electricity, heat, steam, gas) | refused |
| transformation_input  | +1 (energy charged to a conversion: coal to coke ovens) | 0 |
| transformation_output | -1 (energy products of a conversion: coke, coke-oven gas, tar) | 0 |
| recovered   | 0 (own production from waste heat, pressure, gas; shown, not counted) | 0 |
| turbine_heat| 0 (heat the turbines of a CHP plant consume: the heat ratio of DL/T 904) | 0 |
| any other   | 0 (output, it_load, supply, emission, ambient) | 0 |

An energy-conversion enterprise (能源加工转换: coking, gasification) counts its conversion as
input less the energy products it yields (GB/T 2589-2020 chapter 7, and the unit-product
definition of GB 21342 for coke), so the conversion's losses and the process energy remain.

Non-fossil electricity (`non_fossil`: own renewable generation consumed on site, or purchased
electricity with green certificates) is a level-1 electricity consumption point like any other:
+1 in the site total, which is what the enterprise consumed (GB/T 2589-2020), and reported
beside it as "of which non-fossil" for the regional dual-control ledger, which deducts it
(发改运行〔2022〕1258号, 发改环资〔2024〕113号; docs/computation.md, "Non-fossil electricity").

The sign is stored with each point (`points.balance_sign`, a generated column, so SQL sums
`value * balance_sign`) and computed here for Python; a test checks the two agree.
"""

from __future__ import annotations

SIGNED_ROLES = {
    "consumption": 1,
    "feedstock": 1,
    "transformation_input": 1,
    "export": -1,
    "transformation_output": -1,
}
# Roles whose points the rollup turns into quantities worth a report or a completeness check:
# the energy flows above, and the quantities indicators divide by.
ENERGY_ROLES = (
    "consumption",
    "feedstock",
    "transformation_input",
    "export",
    "transformation_output",
    "recovered",
    "turbine_heat",
    "output",
    "it_load",
    "supply",
)

# The same rule in SQL; migration 0006_transformation_flows gave the column this expression.
BALANCE_SIGN_SQL = (
    "CASE WHEN metering_level = 1"
    " AND role IN ('consumption', 'feedstock', 'transformation_input') THEN 1"
    " WHEN metering_level = 1 AND role IN ('export', 'transformation_output') THEN -1"
    " ELSE 0 END"
)


# The database's check of a point's `non_fossil` (migration 0009_non_fossil): the registry
# model refuses the same with a message.
NON_FOSSIL_CHECK_SQL = (
    "non_fossil IS NULL OR (non_fossil IN ('own_renewable', 'green_certificate')"
    " AND measure = 'electricity' AND role = 'consumption' AND metering_level = 1)"
)


def balance_sign(role: str, metering_level: int) -> int:
    """+1, -1 or 0: how the point's energy enters the site's comprehensive consumption."""
    return SIGNED_ROLES.get(role, 0) if metering_level == 1 else 0


def non_fossil_used(own_renewable: float, green_certificate: float, export: float) -> float:
    """Of which non-fossil, over a period: the own renewable generation less the electricity
    the site exported (a site with its own PV feeds the grid its surplus, 自发自用、余电上网, so
    what it exports is taken from that generation first, never below nothing), plus the
    electricity bought with green certificates. Arguments and result in one unit (kWh or tce),
    all positive (docs/computation.md, "Non-fossil electricity")."""
    return max(0.0, own_renewable - export) + green_certificate
