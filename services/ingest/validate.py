"""Checks of decoded readings against the registry and the clock (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.ingest.decode import Decoded, Rejection, Row
from services.ingest.reasons import Reason
from services.ingest.registry import PointRef, Registry

_UNIT_SPELLINGS = str.maketrans({"³": "3", "²": "2", "µ": "u", "μ": "u"})


def same_unit(given: str, registered: str) -> bool:
    """Units compare exactly, except for superscripts and the micro sign ('m³' is 'm3')."""
    return given.strip().translate(_UNIT_SPELLINGS) == registered.strip().translate(_UNIT_SPELLINGS)


@dataclass
class Checked:
    """Readings ready to store (`point_ids[i]` is the point of `readings[i]`) and those refused."""

    point_ids: list[int] = field(default_factory=list)
    readings: list[Row] = field(default_factory=list)
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
    points = registry.points_of_site.get(decoded.site, {})
    ids, accepted = checked.point_ids, checked.readings
    for reading in decoded.readings:
        ref = points.get(reading.point)
        # The common case first, in one test: the loop runs for every reading ingested.
        if (
            ref is not None
            and ref.device_id == device_id
            and reading.u is None
            and reading.ts <= latest
        ):
            ids.append(ref.id)
            accepted.append(reading)
            continue
        refusal = _refusal(reading, ref, device_id, decoded.site, registry, latest, now, skew_s)
        if refusal is None:
            assert ref is not None
            ids.append(ref.id)
            accepted.append(reading)
        else:
            checked.rejections.append(refusal)
            checked.missed = checked.missed or ref is None
    return checked


def _refusal(
    reading: Row,
    ref: PointRef | None,
    device_id: int,
    site: str,
    registry: Registry,
    latest: datetime,
    now: datetime,
    skew_s: int,
) -> Rejection | None:
    if ref is None:
        others = registry.sites_of_point.get(reading.point)
        if others:
            reason = Reason.POINT_OTHER_SITE
            detail = f"point {reading.point!r} is registered to site(s) {', '.join(others)}"
        else:
            reason = Reason.UNKNOWN_POINT
            detail = f"point {reading.point!r} is not registered to site {site!r}"
    elif ref.device_id != device_id:
        reason = Reason.POINT_OTHER_DEVICE
        detail = f"point {reading.point!r} belongs to another device of site {site!r}"
    elif reading.u is not None and not same_unit(reading.u, ref.unit):
        reason = Reason.UNIT_MISMATCH
        detail = f"unit {reading.u!r}, point {reading.point!r} is registered in {ref.unit!r}"
    elif reading.ts > latest:
        reason = Reason.FUTURE_TIMESTAMP
        detail = f"{reading.ts.isoformat()} is more than {skew_s} s after {now.isoformat()}"
    else:
        return None
    return Rejection(reason, detail, reading.to_json(), reading.point)
