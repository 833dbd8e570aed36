"""Checks of decoded readings against the registry and the clock (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.ingest.decode import Decoded, Rejection, Row
from services.ingest.reasons import Reason
from services.ingest.registry import Registry

_UNIT_SPELLINGS = str.maketrans({"³": "3", "²": "2", "µ": "u", "μ": "u"})


def same_unit(given: str, registered: str) -> bool:
    """Units compare exactly, except for superscripts and the micro sign ('m³' is 'm3')."""
    return given.strip().translate(_UNIT_SPELLINGS) == registered.strip().translate(_UNIT_SPELLINGS)


@dataclass
class Checked:
    """Readings ready to store, as (point_id, reading), and those refused."""

    accepted: list[tuple[int, Row]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    missed: bool = False  # some device or point was unknown: a fresher registry may know it


def check_readings(decoded: Decoded, registry: Registry, now: datetime, skew_s: int) -> Checked:
    checked = Checked(rejections=list(decoded.rejections))
    if not decoded.readings:
        return checked
    device_id = registry.devices.get((decoded.site, decoded.device))
    if device_id is None:
        checked.missed = True
        payload = "[" + ",".join(r.to_json() for r in decoded.readings) + "]"
        checked.rejections.append(
            Rejection(
                Reason.UNKNOWN_DEVICE,
                f"device {decoded.device!r} of site {decoded.site!r} is not registered",
                payload[:65_536],
            )
        )
        return checked
    latest = now + timedelta(seconds=skew_s)
    points = registry.points
    for reading in decoded.readings:
        ref = points.get((decoded.site, reading.point))
        reason: Reason | None = None
        if ref is None:
            checked.missed = True
            others = registry.sites_of_point.get(reading.point)
            if others:
                reason = Reason.POINT_OTHER_SITE
                detail = f"point {reading.point!r} is registered to site(s) {', '.join(others)}"
            else:
                reason = Reason.UNKNOWN_POINT
                detail = f"point {reading.point!r} is not registered to site {decoded.site!r}"
        elif ref.device_id != device_id:
            reason = Reason.POINT_OTHER_DEVICE
            detail = f"point {reading.point!r} belongs to another device of site {decoded.site!r}"
        elif reading.u is not None and not same_unit(reading.u, ref.unit):
            reason = Reason.UNIT_MISMATCH
            detail = f"unit {reading.u!r}, point {reading.point!r} is registered in {ref.unit!r}"
        elif reading.ts > latest:
            reason = Reason.FUTURE_TIMESTAMP
            detail = f"{reading.ts.isoformat()} is more than {skew_s} s after {now.isoformat()}"
        if reason is None and ref is not None:
            checked.accepted.append((ref.id, reading))
        elif reason is not None:
            checked.rejections.append(Rejection(reason, detail, reading.to_json(), reading.point))
    return checked
