"""Bytes off the wire to readings: JSON decoding and schema validation (pure).

The payload contract is `energywatch.protocol.ReadingsMessage`. A valid message takes the fast
path (one pydantic call, JSON parsed in Rust). Only a message that fails it is taken apart to
keep its good readings and refuse each bad one with its own reason.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from energywatch.protocol import MAX_MESSAGE_BYTES, Reading, ReadingsMessage
from energywatch.protocol.topics import parse_topic
from services.ingest.reasons import Reason

# Dead letters keep at most this much of a refused payload.
MAX_STORED_PAYLOAD = 65_536


@dataclass(frozen=True)
class Rejection:
    reason: Reason
    detail: str
    payload: str
    point: str | None = None


@dataclass
class Decoded:
    """A readings message taken apart: the readings that passed the schema and those refused."""

    site: str
    device: str
    seq: int | None
    backfill: bool
    readings: list[Reading] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def payload_text(payload: bytes) -> str:
    text = payload[:MAX_STORED_PAYLOAD].decode("utf-8", errors="replace")
    if len(payload) > MAX_STORED_PAYLOAD:
        text += f"... [{len(payload)} bytes, truncated]"
    return text


def _whole(site: str, device: str, reason: Reason, detail: str, payload: bytes) -> Decoded:
    rejected = Decoded(site, device, None, False)
    rejected.rejections.append(Rejection(reason, detail, payload_text(payload)))
    return rejected


def _short(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}" if loc else str(err["msg"]))
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def _reading_reason(errors: list[Any]) -> Reason:
    for err in errors:
        value = err.get("input")
        if err["loc"][-1:] == ("v",) and isinstance(value, float) and not math.isfinite(value):
            return Reason.NON_FINITE
    return Reason.SCHEMA


def decode_message(topic: str, payload: bytes, prefix: str) -> Decoded:
    """Decode one MQTT message; never raises on any input."""
    where = parse_topic(topic, prefix)
    if where is None or where[2] != "readings":
        return _whole("", "", Reason.BAD_TOPIC, f"not a readings topic: {topic!r}", payload)
    site, device, _ = where
    if len(payload) > MAX_MESSAGE_BYTES:
        detail = f"{len(payload)} bytes, more than {MAX_MESSAGE_BYTES}"
        return _whole(site, device, Reason.OVERSIZED, detail, payload)
    try:
        message = ReadingsMessage.model_validate_json(payload)
    except ValidationError:
        return _decode_slowly(site, device, payload)
    return Decoded(site, device, message.seq, message.backfill, list(message.readings))


def _decode_slowly(site: str, device: str, payload: bytes) -> Decoded:
    # json.loads also takes NaN and Infinity, so those become a per-reading `non_finite`.
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        return _whole(site, device, Reason.BAD_JSON, str(exc)[:500], payload)
    try:
        message = ReadingsMessage.model_validate(obj)
        return Decoded(site, device, message.seq, message.backfill, list(message.readings))
    except ValidationError as exc:
        errors = exc.errors()
    bad: dict[int, list[Any]] = {}
    for err in errors:
        loc = err["loc"]
        if len(loc) >= 2 and loc[0] == "readings" and isinstance(loc[1], int):
            bad.setdefault(loc[1], []).append(err)
        else:
            return _whole(site, device, Reason.SCHEMA, _short(errors), payload)
    raw_readings = obj["readings"]
    decoded = Decoded(site, device, obj.get("seq"), bool(obj.get("backfill", False)))
    for i, raw in enumerate(raw_readings):
        if i in bad:
            point = raw.get("point") if isinstance(raw, dict) else None
            decoded.rejections.append(
                Rejection(
                    _reading_reason(bad[i]),
                    _short(bad[i]),
                    _dump(raw),
                    point if isinstance(point, str) else None,
                )
            )
        else:
            decoded.readings.append(Reading.model_validate(raw))
    return decoded


def _dump(raw: Any) -> str:
    try:
        return json.dumps(raw, ensure_ascii=False)[:MAX_STORED_PAYLOAD]
    except (TypeError, ValueError):
        return repr(raw)[:MAX_STORED_PAYLOAD]
