"""Stack (CEMS) compliance arithmetic: oxygen correction, validity of hourly and daily means,
emission amounts. Pure NumPy over small per-stack arrays; the standards and clauses behind
every number are in docs/stacks.md.

Timestamps are int64 milliseconds since the Unix epoch (UTC), as everywhere in the core.
A minute value is the mean of one minute's valid readings (HJ 212 flag N, Quality.GOOD);
minutes without a valid reading are absent, not NaN.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np

from energywatch.core.series import F64, I64

O2_IN_AIR = 21.0  # % by volume in dry air: the 21 of the correction formula
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
# HJ 75-2017: an hourly mean needs 45 valid minutes, a daily mean 20 valid hours.
MIN_VALID_MINUTES_PER_HOUR = 45
MIN_VALID_HOURS_PER_DAY = 20
VALID_SHARE = MIN_VALID_MINUTES_PER_HOUR / 60.0  # the same rule for a window of any length
MG_PER_KG = 1e6


def corrected_to_reference_o2(measured: F64, o2: F64, reference_o2: float) -> F64:
    """Concentration at the reference oxygen content: C = C' x (21 - O2ref) / (21 - O2).

    GB 13223-2011 clause 5.2, formula (1); HJ 75-2017 uses the same form. NaN where the O2
    reading is missing or not below 21 % (no flue gas, only air: the formula has no meaning).
    """
    measured = np.asarray(measured, dtype=np.float64)
    o2 = np.asarray(o2, dtype=np.float64)
    out = np.full(np.broadcast(measured, o2).shape, np.nan)
    ok = np.isfinite(measured) & np.isfinite(o2) & (o2 < O2_IN_AIR)
    factor = (O2_IN_AIR - reference_o2) / (O2_IN_AIR - np.where(ok, o2, 0.0))
    np.copyto(out, measured * factor, where=ok)
    return out


def rebased(corrected: F64, from_o2: float, to_o2: float) -> F64:
    """A value corrected to `from_o2` restated at `to_o2`; the measured O2 cancels out."""
    return np.asarray(corrected, dtype=np.float64) * (O2_IN_AIR - to_o2) / (O2_IN_AIR - from_o2)


def join_minutes(minutes_a: I64, minutes_b: I64) -> tuple[I64, I64, I64]:
    """The minutes both series have, with the index of each in its series."""
    common, ia, ib = np.intersect1d(minutes_a, minutes_b, assume_unique=True, return_indices=True)
    return common.astype(np.int64), ia.astype(np.int64), ib.astype(np.int64)


Basis = Literal["as_reported", "logger_corrected", "o2_corrected", "no_o2"]


def pick_source(corrected_o2: list[float | None], reference_o2: float) -> int:
    """Of one stack's points for one pollutant (their `corrected_o2`, None = measured), the
    one to judge at `reference_o2`: the logger's value corrected to it, else one corrected to
    another O2 (restated), else the first measured one (corrected from O2)."""
    for wanted in (lambda c: c == reference_o2, lambda c: c is not None):
        for i, c in enumerate(corrected_o2):
            if wanted(c):
                return i
    return 0


def basis_of(judged_corrected_o2: float | None, has_o2_point: bool) -> Basis:
    """How the picked point's values reach the reference O2 (see `pick_source`)."""
    if judged_corrected_o2 is not None:
        return "logger_corrected"
    return "o2_corrected" if has_o2_point else "no_o2"


class Judged(NamedTuple):
    minute: I64
    value: F64  # at the reference O2 (or as reported)
    measured: F64  # as the judged point reported it
    o2: F64 | None  # o2_corrected: the O2 of each minute


def judged_minutes(
    basis: Basis,
    minute: I64,
    values: F64,
    reference_o2: float | None,
    from_o2: float | None = None,
    o2_minute: I64 | None = None,
    o2_values: F64 | None = None,
) -> Judged:
    """The minute values a limit is compared with, from a point's valid minute means.

    o2_corrected: only minutes where the O2 point has a valid value too; logger_corrected:
    restated from `from_o2` to the reference; no_o2: no value; as_reported: unchanged.
    """
    if basis == "o2_corrected" and o2_minute is not None and o2_values is not None:
        common, ia, ib = join_minutes(minute, o2_minute)
        o2 = o2_values[ib]
        measured = values[ia]
        return Judged(
            common, corrected_to_reference_o2(measured, o2, reference_o2 or 0.0), measured, o2
        )
    if basis == "logger_corrected" and reference_o2 is not None:
        return Judged(minute, rebased(values, from_o2 or 0.0, reference_o2), values, None)
    if basis == "no_o2":
        return Judged(minute, np.full(values.shape, np.nan), values, None)
    return Judged(minute, values, values, None)


class WindowMean(NamedTuple):
    mean: float  # NaN when the valid minutes are too few
    valid_minutes: int
    required_minutes: int


def required_minutes(window_ms: int, share: float = VALID_SHARE) -> int:
    """Valid minutes a window needs: 45 of 60 for an hour (HJ 75-2017), the same share of
    any other window, and at least one."""
    return max(1, int(np.ceil(share * window_ms / MINUTE_MS - 1e-9)))


def window_mean(values: F64, window_ms: int, share: float = VALID_SHARE) -> WindowMean:
    """Mean of the valid minute values of one window, or NaN below the validity rule."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    need = required_minutes(window_ms, share)
    mean = float(values.mean()) if values.size >= need else float("nan")
    return WindowMean(mean, int(values.size), need)


class BlockMeans(NamedTuple):
    start: I64  # block start, ms
    mean: F64  # NaN where the block has fewer valid members than required
    members: I64  # valid members in the block


def block_means(
    ts_ms: I64, values: F64, block_ms: int, min_count: int, offset_ms: int = 0
) -> BlockMeans:
    """Means of consecutive blocks (clock hours of minutes, local days of hours) from the valid
    members only; a block with fewer than `min_count` valid members has no mean.

    `offset_ms` shifts block boundaries to local time (+8 h for China: a day runs from local
    midnight). Only blocks holding at least one member are returned, in ascending order.
    """
    ts_ms = np.asarray(ts_ms, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(values)
    ts_ms, values = ts_ms[keep], values[keep]
    if ts_ms.size == 0:
        return BlockMeans(np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64))
    block = (ts_ms + offset_ms) // block_ms
    starts, inverse, counts = np.unique(block, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=values, minlength=starts.size)
    means = np.where(counts >= min_count, sums / np.maximum(counts, 1), np.nan)
    return BlockMeans(starts * block_ms - offset_ms, means, counts.astype(np.int64))


def hourly_means(minute_ms: I64, minute_values: F64, offset_ms: int = 0) -> BlockMeans:
    """Clock-hour means from valid minute values: 45 valid minutes or no mean (HJ 75-2017)."""
    return block_means(minute_ms, minute_values, HOUR_MS, MIN_VALID_MINUTES_PER_HOUR, offset_ms)


def daily_means(hour_ms: I64, hour_values: F64, offset_ms: int = 0) -> BlockMeans:
    """Daily means from valid hourly means (NaN hours are not valid): 20 valid hours or no mean
    (HJ 75-2017)."""
    return block_means(hour_ms, hour_values, DAY_MS, MIN_VALID_HOURS_PER_DAY, offset_ms)


def emission_kg(concentration_mg_m3: F64, flow_m3_h: F64, hours: float = 1.0) -> F64:
    """Mass emitted: concentration (mg/m3, measured, not O2-corrected) x standard dry flue-gas
    flow (m3/h at 273.15 K, 101.325 kPa, dry) x hours x 1e-6 kg/mg (HJ 75-2017 Annex C)."""
    c = np.asarray(concentration_mg_m3, dtype=np.float64)
    q = np.asarray(flow_m3_h, dtype=np.float64)
    return c * q * hours / MG_PER_KG


class Band(NamedTuple):
    start: int  # ms, first flagged minute
    end: int  # ms, end of the last flagged minute
    quality: int  # the worst quality in the band


def flag_bands(minute_ms: I64, quality: I64) -> list[Band]:
    """Consecutive flagged minutes (same quality) merged into bands, for drawing."""
    bands: list[Band] = []
    for m, q in zip(minute_ms.tolist(), quality.tolist(), strict=True):
        last = bands[-1] if bands else None
        if last is not None and last.end == m and last.quality == q:
            bands[-1] = Band(last.start, m + MINUTE_MS, q)
        else:
            bands.append(Band(m, m + MINUTE_MS, q))
    return bands
