"""Threshold, `for` and hysteresis evaluation for many alert subjects at once.

One element per (rule, subject). Each element has a current value, up to three thresholds
(one per severity rank, NaN where the rule has none), a clear level, a direction, a `for`
duration in ms and what to do without data; and a state carried from the previous step:

    state 0 = ok, 1 = pending, 2 = firing; level = severity rank (-1 none); since = ms when
    the current state began.

One step at `now` (ms):

- breach = highest rank whose threshold the value passes (strictly), -1 if none.
- cleared = the value is back on the safe side of the clear level (at or below it for
  `above` rules). Without hysteresis the clear level is the lowest threshold.
- ok      -> pending (since now) on a breach; straight to firing when `for` is 0.
- pending -> ok when cleared; -> firing (since now) once now - since >= for. A value between
  the clear level and the threshold keeps it pending: the band is what stops flapping.
- firing  -> ok (resolved, since now) when cleared; the level only rises while firing, so a
  noisy value never toggles the severity.
- NaN value (no data): `keep` leaves everything as it was; `ok` counts as cleared; `alert`
  counts as a breach at the lowest defined rank, and waits for `for` like any other breach.

`step_states_reference` is the obviously correct plain-Python twin.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from energywatch.core.jit import kernel

OK, PENDING, FIRING = 0, 1, 2
NODATA_KEEP, NODATA_OK, NODATA_ALERT = 0, 1, 2
N_LEVELS = 3

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]


class Step(NamedTuple):
    state: I8
    level: I8
    since: I64


@kernel
def _step_states(value, thresholds, clear, sign, for_ms, nodata, state, level, since, now):  # type: ignore[no-untyped-def]
    n = value.shape[0]
    new_state = state.copy()
    new_level = level.copy()
    new_since = since.copy()
    for i in range(n):
        sg = sign[i]
        v = value[i]
        lowest = -1
        breach = -1
        for k in range(thresholds.shape[1]):
            t = thresholds[i, k]
            if t == t:
                if lowest < 0:
                    lowest = k
                if v == v and v * sg > t * sg:
                    breach = k
        c = clear[i]
        if c != c and lowest >= 0:
            c = thresholds[i, lowest]
        if v != v:
            mode = nodata[i]
            if mode == 0:
                continue
            if mode == 1:
                cleared = True
                breach = -1
            else:
                cleared = False
                breach = lowest
        else:
            cleared = v * sg <= c * sg
        s = state[i]
        if s == 0:
            if breach >= 0:
                new_level[i] = breach
                new_since[i] = now
                new_state[i] = 2 if for_ms[i] <= 0 else 1
        elif s == 1:
            if cleared and breach < 0:
                new_state[i] = 0
                new_level[i] = -1
                new_since[i] = now
            else:
                if breach > level[i]:
                    new_level[i] = breach
                if now - since[i] >= for_ms[i]:
                    new_state[i] = 2
                    new_since[i] = now
        else:
            if cleared and breach < 0:
                new_state[i] = 0
                new_level[i] = -1
                new_since[i] = now
            elif breach > level[i]:
                new_level[i] = breach
    return new_state, new_level, new_since


def _checked(
    value: F64,
    thresholds: F64,
    clear: F64,
    sign: I8,
    for_ms: I64,
    nodata: I8,
    state: I8,
    level: I8,
    since: I64,
) -> tuple[F64, F64, F64, I8, I64, I8, I8, I8, I64]:
    n = value.shape[0]
    if thresholds.shape != (n, N_LEVELS):
        raise ValueError(f"thresholds must have shape ({n}, {N_LEVELS})")
    for name, arr in (
        ("clear", clear),
        ("sign", sign),
        ("for_ms", for_ms),
        ("nodata", nodata),
        ("state", state),
        ("level", level),
        ("since", since),
    ):
        if arr.shape != (n,):
            raise ValueError(f"{name} must have one element per value")
    return (
        np.ascontiguousarray(value, np.float64),
        np.ascontiguousarray(thresholds, np.float64),
        np.ascontiguousarray(clear, np.float64),
        np.ascontiguousarray(sign, np.int8),
        np.ascontiguousarray(for_ms, np.int64),
        np.ascontiguousarray(nodata, np.int8),
        np.ascontiguousarray(state, np.int8),
        np.ascontiguousarray(level, np.int8),
        np.ascontiguousarray(since, np.int64),
    )


def step_states(
    value: F64,
    thresholds: F64,
    clear: F64,
    sign: I8,
    for_ms: I64,
    nodata: I8,
    state: I8,
    level: I8,
    since: I64,
    now_ms: int,
) -> Step:
    """One evaluation step for every element (see the module docstring)."""
    args = _checked(value, thresholds, clear, sign, for_ms, nodata, state, level, since)
    s, lv, sn = _step_states(*args, np.int64(now_ms))
    return Step(s, lv, sn)


def step_states_reference(
    value: F64,
    thresholds: F64,
    clear: F64,
    sign: I8,
    for_ms: I64,
    nodata: I8,
    state: I8,
    level: I8,
    since: I64,
    now_ms: int,
) -> Step:
    """Plain-Python twin of `step_states`, element by element, written for reading."""
    out_state, out_level, out_since = [], [], []
    for i in range(len(value)):
        s, lv, sn = _one(
            float(value[i]),
            [float(t) for t in thresholds[i]],
            float(clear[i]),
            int(sign[i]),
            int(for_ms[i]),
            int(nodata[i]),
            int(state[i]),
            int(level[i]),
            int(since[i]),
            now_ms,
        )
        out_state.append(s)
        out_level.append(lv)
        out_since.append(sn)
    return Step(
        np.array(out_state, np.int8), np.array(out_level, np.int8), np.array(out_since, np.int64)
    )


def _one(
    v: float,
    thresholds: list[float],
    clear: float,
    sign: int,
    for_ms: int,
    nodata: int,
    state: int,
    level: int,
    since: int,
    now: int,
) -> tuple[int, int, int]:
    defined = [k for k, t in enumerate(thresholds) if not math.isnan(t)]
    lowest = defined[0] if defined else -1
    if math.isnan(clear) and defined:
        clear = thresholds[lowest]
    if math.isnan(v):
        if nodata == NODATA_KEEP:
            return state, level, since
        if nodata == NODATA_OK:
            breach, cleared = -1, True
        else:
            breach, cleared = lowest, False
    else:
        passed = [k for k in defined if v * sign > thresholds[k] * sign]
        breach = max(passed) if passed else -1
        cleared = v * sign <= clear * sign
    if state == OK:
        if breach < 0:
            return state, level, since
        return (FIRING if for_ms <= 0 else PENDING), breach, now
    if cleared and breach < 0:
        return OK, -1, now
    level = max(level, breach)
    if state == PENDING and now - since >= for_ms:
        return FIRING, level, now
    return state, level, since
