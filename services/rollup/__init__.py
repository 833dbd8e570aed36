"""The rollup worker: keeps consumption_15min (quantity, tce, tCO2, completeness) current.

plan.py         which 15-minute ranges to recompute for the dirty buckets (pure)
conversions.py  coefficient arrays per point and local day, from the reference rows (pure)
compute.py      readings -> rows of consumption_15min with the numba core (pure)
store.py        SQL: claim dirty buckets, load points, reference rows and readings, write
worker.py       one pass, and a rebuild from scratch
command.py      `energywatch rollup`: the loop
"""
