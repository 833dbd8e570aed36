"""Bytes off the wire to readings: JSON decoding and schema validation (pure).

The payload contract is `energywatch.protocol.ReadingsMessage`. A valid message takes the fast
path: one pydantic call over `_FastMessage`, the same schema as the contract written as typed
dicts (no model instance per reading: 2-3x cheaper; `tests/unit/ingest/test_decode.py` checks
that the two accept exactly the same messages). A message that fails it is validated with the
contract models themselves and taken apart, to keep its good readings and refuse each bad one
with its own reason.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, NamedTuple, NotRequired

from pydantic import AwareDatetime, ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from energywatch.protocol import MAX_MESSAGE_BYTES, Quality, Reading, ReadingsMessage
from energywatch.protocol.payload import MAX_READINGS_PER_MESSAGE
from energywatch.protocol.topics import parse_topic
from services.ingest.reasons import Reason

# Dead letters keep at most this much of a refused payload.
MAX_STORED_PAYLOAD = 65_536


class _FastReading(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    point: Annotated[str, Field(min_length=1, max_length=64)]
    ts: AwareDatetime
    v: Annotated[float, Field(allow_inf_nan=False)]
    q: NotRequired[Quality]
    u: NotRequired[Annotated[str, Field(max_length=16)] | None]


class _FastMessage(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    seq: Annotated[int, Field(ge=0)]
    backfill: NotRequired[bool]
    readings: Annotated[
        list[_FastReading], Field(min_length=1, max_length=MAX_READINGS_PER_MESSAGE)
    ]


FAST_MESSAGE = TypeAdapter(_FastMessage)


class Row(NamedTuple):
    """One reading that passed the schema."""

    point: str
    ts: datetime
    v: float
    q: int = 0
    u: str | None = None

    def to_json(self) -> str:
        out: dict[str, Any] = {"point": self.point, "ts": self.ts.isoformat(), "v": self.v}
        out["q"] = int(self.q)
        if self.u is not None:
            out["u"] = self.u
        return json.dumps(out, ensure_ascii=False)

    @classmethod
    def of(cls, reading: Reading) -> Row:
        return cls(reading.point, reading.ts, reading.v, int(reading.q), reading.u)


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
        message = FAST_MESSAGE.validate_json(payload)
    except ValidationError:
        return _decode_slowly(site, device, payload)
    rows = [
        Row(r["point"], r["ts"], r["v"], r.get("q", 0), r.get("u")) for r in message["readings"]
    ]
    return Decoded(site, device, message["seq"], message.get("backfill", False), rows)


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
