"""Bit flags a kernel sets on a reading (uint8, combinable)."""

from __future__ import annotations

FIRST = 1  # first valid reading of a series: no predecessor, so no consumption
MISSING = 2  # value is NaN: skipped, the previous valid reading stays the reference
NEGATIVE = 4  # small drop: flagged, counted as zero, the previous high value stays the reference
RESET = 8  # large drop: the register restarted; consumption counts from zero to the new value
ROLLOVER = 16  # the register passed its rollover value and wrapped
