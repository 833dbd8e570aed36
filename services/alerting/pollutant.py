"""Pollutant rules: which stack value each subject is judged on, and its window mean from valid
minutes, corrected to the rule's reference O2 (docs/stacks.md).

A stack's analyser may send a pollutant twice, as measured (Rtd) and as the logger corrected it
(ZsRtd, a point with `corrected_o2`). Per device and pollutant one source is judged: the
corrected point at the rule's reference O2, else a corrected point restated at it, else the
measured point corrected minute by minute from the device's O2 point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import numpy as np

from energywatch.core.stacks import (
    Basis,
    Judged,
    basis_of,
    judged_minutes,
    pick_source,
    window_mean,
)
from energywatch.core.thresholds import F64
from services.alerting.inputs import CycleInputs
from services.alerting.registry import Point, Registry
from services.alerting.rules import Rule

O2_MEASURE = "o2"
Evidence = Callable[[], dict[str, Any]]


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
        subject = measured[0] if measured else members[0]
        judged = members[pick_source([p.corrected_o2 for p in members], reference_o2)]
        o2 = _o2_point(reg, subject.site_id, device_id)
        basis = basis_of(judged.corrected_o2, o2 is not None)
        out.append(Source(subject, judged, basis, o2 if basis == "o2_corrected" else None))
    return out


def _o2_point(reg: Registry, site_id: int, device_id: int) -> Point | None:
    for p in reg.points_by_site.get(site_id, ()):
        if p.device_id == device_id and p.measure == O2_MEASURE:
            return p
    return None


def measure_pollutant(
    rule: Rule, reg: Registry, inputs: CycleInputs, points: list[Point]
) -> tuple[list[Source], F64, list[Evidence]]:
    """Per source: the window mean of valid minutes (NaN below the validity rule), and the
    evidence: basis, the minutes with their values, counts against the rule (built only for
    the subjects whose state changes)."""
    chosen = sources(reg, points, rule.reference_o2)
    wanted = {s.values.id for s in chosen} | {s.o2.id for s in chosen if s.o2}
    minutes = inputs.minute_means(rule.window, tuple(sorted(wanted)))
    window_ms = int(rule.window.total_seconds() * 1000)
    value = np.full(len(chosen), np.nan)
    details: list[Evidence] = []
    empty_i, empty_f = np.empty(0, np.int64), np.empty(0)
    for i, src in enumerate(chosen):
        o2 = src.o2.id if src.o2 else -1
        judged = judged_minutes(
            src.basis,
            minutes.minutes.get(src.values.id, empty_i),
            minutes.values.get(src.values.id, empty_f),
            rule.reference_o2,
            src.values.corrected_o2,
            minutes.minutes.get(o2, empty_i),
            minutes.values.get(o2, empty_f),
        )
        mean = window_mean(judged.value, window_ms, rule.min_valid_share)
        value[i] = mean.mean
        details.append(
            partial(
                _evidence,
                {
                    "basis": src.basis,
                    "reference_o2": rule.reference_o2,
                    "point": reg.point_label(src.values),
                    "o2_point": reg.point_label(src.o2) if src.o2 else None,
                    "valid_minutes": mean.valid_minutes,
                    "required_minutes": mean.required_minutes,
                    "flagged_minutes": minutes.flagged_minutes.get(src.values.id, 0),
                },
                judged,
            )
        )
    return chosen, value, details


def _evidence(counts: dict[str, Any], judged: Judged) -> dict[str, Any]:
    return {**counts, "minutes": _minute_rows(judged)}


def _minute_rows(judged: Judged) -> list[dict[str, Any]]:
    rows = []
    for k in range(judged.minute.size):
        v = float(judged.value[k])
        row: dict[str, Any] = {
            "minute": datetime.fromtimestamp(int(judged.minute[k]) / 1000, UTC).isoformat(),
            "value": v if v == v else None,
            "measured": float(judged.measured[k]),
        }
        if judged.o2 is not None:
            row["o2"] = float(judged.o2[k])
        rows.append(row)
    return rows
