"""Bytes off the wire to readings: JSON decoding and schema validation (pure).

The payload contract is `energywatch.protocol.ReadingsMessage` (pydantic). A valid message takes
the fast path: one msgspec decode straight into `Row` structs, the same schema written for
msgspec (about ten times cheaper than validating with pydantic, which was most of ingest's
CPU per reading). The fast path may be stricter than the contract, never more lenient:
whatever it refuses is validated with the contract models themselves and taken apart, to keep
its good readings and refuse each bad one with its own reason.
`tests/unit/ingest/test_decode.py` checks that everything the fast path accepts the contract
accepts with the same values.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from pydantic import ValidationError

from energywatch.protocol import MAX_MESSAGE_BYTES, Quality, Reading, ReadingsMessage
from energywatch.protocol.payload import MAX_READINGS_PER_MESSAGE
from energywatch.protocol.topics import parse_topic
from services.ingest.reasons import Reason

# Dead letters keep at most this much of a refused payload.
MAX_STORED_PAYLOAD = 65_536
# Finite floats are exactly those within +-max: JSON has no NaN, and 1e999 decodes to infinity.
_FINITE = Meta(ge=-sys.float_info.max, le=sys.float_info.max)


class Row(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One reading that passed the schema (also the fast path's schema of a reading)."""

    point: Annotated[str, Meta(min_length=1, max_length=64)]
    ts: Annotated[datetime, Meta(tz=True)]
    v: Annotated[float, _FINITE]
    q: Quality = Quality.GOOD
    u: Annotated[str, Meta(max_length=16)] | None = None

    def to_json(self) -> str:
        out: dict[str, Any] = {"point": self.point, "ts": self.ts.isoformat(), "v": self.v}
        out["q"] = int(self.q)
        if self.u is not None:
            out["u"] = self.u
        return json.dumps(out, ensure_ascii=False)

    @classmethod
    def of(cls, reading: Reading) -> Row:
        return cls(reading.point, reading.ts, reading.v, reading.q, reading.u)


class FastMessage(msgspec.Struct, forbid_unknown_fields=True):
    """`ReadingsMessage` for msgspec."""

    seq: Annotated[int, Meta(ge=0)]
    readings: Annotated[list[Row], Meta(min_length=1, max_length=MAX_READINGS_PER_MESSAGE)]
    backfill: bool = False


FAST_DECODER = msgspec.json.Decoder(FastMessage)
# msgspec rounds a time's digits beyond the microsecond where the contract truncates them: such
# messages (rare; any seconds-with-7-digits anywhere in the payload) take the slow path.
_SUB_MICROSECOND = re.compile(rb":[0-9]{2}\.[0-9]{7}")


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
    readings: list[Row] = field(default_factory=list)
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


def takes_fast_path(payload: bytes) -> bool:
    return _SUB_MICROSECOND.search(payload) is None


def decode_message(topic: str, payload: bytes, prefix: str) -> Decoded:
    """Decode one MQTT message; never raises on any input."""
    where = parse_topic(topic, prefix)
    if where is None or where[2] != "readings":
        return _whole("", "", Reason.BAD_TOPIC, f"not a readings topic: {topic!r}", payload)
    site, device, _ = where
    if len(payload) > MAX_MESSAGE_BYTES:
        detail = f"{len(payload)} bytes, more than {MAX_MESSAGE_BYTES}"
        return _whole(site, device, Reason.OVERSIZED, detail, payload)
    if not takes_fast_path(payload):
        return _decode_slowly(site, device, payload)
    try:
        message = FAST_DECODER.decode(payload)
    except (msgspec.MsgspecError, RecursionError):
        return _decode_slowly(site, device, payload)
    return Decoded(site, device, message.seq, message.backfill, message.readings)


def _decode_slowly(site: str, device: str, payload: bytes) -> Decoded:
    # json.loads also takes NaN and Infinity, so those become a per-reading `non_finite`.
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        return _whole(site, device, Reason.BAD_JSON, str(exc)[:500], payload)
    try:
        message = ReadingsMessage.model_validate(obj)
        rows = [Row.of(r) for r in message.readings]
        return Decoded(site, device, message.seq, message.backfill, rows)
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
            decoded.readings.append(Row.of(Reading.model_validate(raw)))
    return decoded


def _dump(raw: Any) -> str:
    try:
        return json.dumps(raw, ensure_ascii=False)[:MAX_STORED_PAYLOAD]
    except (TypeError, ValueError):
        return repr(raw)[:MAX_STORED_PAYLOAD]
