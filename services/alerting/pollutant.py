"""Pollutant rules: which stack value each subject is judged on, and its window mean from valid
minutes, corrected to the rule's reference O2 (docs/stacks.md).

A stack's analyser may send a pollutant twice, as measured (Rtd) and as the logger corrected it
(ZsRtd, a point with `corrected_o2`). Per device and pollutant one source is judged: the
corrected point at the rule's reference O2, else a corrected point restated at it, else the
measured point corrected minute by minute from the device's O2 point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from energywatch.core.stacks import (
    corrected_to_reference_o2,
    join_minutes,
    rebased,
    window_mean,
)
from energywatch.core.thresholds import F64
from services.alerting.inputs import CycleInputs
from services.alerting.registry import Point, Registry
from services.alerting.rules import Rule

Basis = Literal["as_reported", "logger_corrected", "o2_corrected", "no_o2"]
O2_MEASURE = "o2"


@dataclass(frozen=True)
class Source:
    subject: Point  # the point the alert is keyed on
    values: Point  # the point whose readings are judged
    basis: Basis
    o2: Point | None = None  # o2_corrected: the device's O2 point


def sources(reg: Registry, points: list[Point], reference_o2: float | None) -> list[Source]:
    """One source per judged subject, in the order of `points`' first member of each group."""
    if reference_o2 is None:
        return [Source(p, p, "as_reported") for p in points]
    groups: dict[tuple[int, str], list[Point]] = {}
    for p in points:
        groups.setdefault((p.device_id, p.measure), []).append(p)
    out = []
    for (device_id, _), members in groups.items():
        measured = [p for p in members if p.corrected_o2 is None]
        corrected = [p for p in members if p.corrected_o2 is not None]
        subject = measured[0] if measured else corrected[0]
        exact = [p for p in corrected if p.corrected_o2 == reference_o2]
        if exact or corrected:
            out.append(Source(subject, (exact or corrected)[0], "logger_corrected"))
            continue
        o2 = _o2_point(reg, subject.site_id, device_id)
        out.append(Source(subject, subject, "o2_corrected" if o2 else "no_o2", o2))
    return out


def _o2_point(reg: Registry, site_id: int, device_id: int) -> Point | None:
    for p in reg.points_by_site.get(site_id, ()):
        if p.device_id == device_id and p.measure == O2_MEASURE:
            return p
    return None


def measure_pollutant(
    rule: Rule, reg: Registry, inputs: CycleInputs, points: list[Point]
) -> tuple[list[Source], F64, list[dict[str, Any]]]:
    """Per source: the window mean of valid minutes (NaN below the validity rule), and the
    evidence: basis, the minutes with their values, counts against the rule."""
    chosen = sources(reg, points, rule.reference_o2)
    wanted = {s.values.id for s in chosen} | {s.o2.id for s in chosen if s.o2}
    minutes = inputs.minute_means(rule.window, tuple(sorted(wanted)))
    window_ms = int(rule.window.total_seconds() * 1000)
    value = np.full(len(chosen), np.nan)
    details: list[dict[str, Any]] = []
    empty_i, empty_f = np.empty(0, np.int64), np.empty(0)
    for i, src in enumerate(chosen):
        at = minutes.minutes.get(src.values.id, empty_i)
        measured = minutes.values.get(src.values.id, empty_f)
        o2_values: F64 | None = None
        if src.basis == "o2_corrected" and src.o2 is not None and rule.reference_o2 is not None:
            at_o2 = minutes.minutes.get(src.o2.id, empty_i)
            at, ia, ib = join_minutes(at, at_o2)
            measured = measured[ia]
            o2_values = minutes.values.get(src.o2.id, empty_f)[ib]
            judged = corrected_to_reference_o2(measured, o2_values, rule.reference_o2)
        elif src.basis == "logger_corrected" and rule.reference_o2 is not None:
            judged = rebased(measured, src.values.corrected_o2 or 0.0, rule.reference_o2)
        elif src.basis == "no_o2":
            judged = np.full(measured.shape, np.nan)
        else:
            judged = measured
        mean = window_mean(judged, window_ms, rule.min_valid_share)
        value[i] = mean.mean
        details.append(
            {
                "basis": src.basis,
                "reference_o2": rule.reference_o2,
                "point": reg.point_label(src.values),
                "o2_point": reg.point_label(src.o2) if src.o2 else None,
                "valid_minutes": mean.valid_minutes,
                "required_minutes": mean.required_minutes,
                "flagged_minutes": minutes.flagged_minutes.get(src.values.id, 0),
                "minutes": _minute_rows(at, judged, measured, o2_values),
            }
        )
    return chosen, value, details


def _minute_rows(
    at: np.ndarray, judged: F64, measured: F64, o2: F64 | None
) -> list[dict[str, Any]]:
    rows = []
    for k in range(at.size):
        v = float(judged[k])
        row: dict[str, Any] = {
            "minute": datetime.fromtimestamp(int(at[k]) / 1000, UTC).isoformat(),
            "value": v if v == v else None,
            "measured": float(measured[k]),
        }
        if o2 is not None:
            row["o2"] = float(o2[k])
        rows.append(row)
    return rows
