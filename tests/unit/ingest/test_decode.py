from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from energywatch.protocol import MAX_MESSAGE_BYTES
from services.ingest.decode import decode_message
from services.ingest.reasons import Reason

TOPIC = "ew/v1/S1/D1/readings"


def reading(point: str = "E01", v: object = 1.5, ts: str = "2026-11-20T08:15:00+08:00") -> dict:
    return {"point": point, "ts": ts, "v": v}


def encode(*readings: dict, seq: int = 1) -> bytes:
    return json.dumps({"seq": seq, "readings": list(readings)}).encode()


def test_a_valid_message_keeps_every_reading() -> None:
    decoded = decode_message(TOPIC, encode(reading(), reading("E02", 2)), "ew/v1")
    assert (decoded.site, decoded.device, decoded.seq) == ("S1", "D1", 1)
    assert [r.point for r in decoded.readings] == ["E01", "E02"]
    assert decoded.rejections == []


def test_a_bad_reading_is_refused_alone() -> None:
    decoded = decode_message(TOPIC, encode(reading(), reading("E02", "x")), "ew/v1")
    assert [r.point for r in decoded.readings] == ["E01"]
    assert [(r.reason, r.point) for r in decoded.rejections] == [(Reason.SCHEMA, "E02")]


def test_non_finite_values_have_their_own_reason() -> None:
    payload = encode(reading()).replace(b"1.5", b"NaN")
    decoded = decode_message(TOPIC, payload, "ew/v1")
    assert decoded.readings == []
    assert [r.reason for r in decoded.rejections] == [Reason.NON_FINITE]


def test_whole_message_refusals() -> None:
    cases = {
        b"{": Reason.BAD_JSON,
        b"\xff": Reason.BAD_JSON,
        b'{"seq": -1, "readings": [{"point": "E", "ts": "2026-11-20T08:15:00Z", "v": 1}]}': (
            Reason.SCHEMA
        ),
        b'{"seq": 1, "readings": []}': Reason.SCHEMA,
        b"b" * (MAX_MESSAGE_BYTES + 1): Reason.OVERSIZED,
    }
    for payload, reason in cases.items():
        decoded = decode_message(TOPIC, payload, "ew/v1")
        assert decoded.readings == []
        assert [r.reason for r in decoded.rejections] == [reason], payload[:40]
    assert decode_message("ew/v1/S1/D1/status", encode(reading()), "ew/v1").rejections[
        0
    ].reason == (Reason.BAD_TOPIC)


@given(st.binary(max_size=300))
def test_never_raises_on_any_bytes(payload: bytes) -> None:
    decoded = decode_message(TOPIC, payload, "ew/v1")
    assert decoded.readings or decoded.rejections


@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
        lambda kids: (
            st.lists(kids, max_size=3)
            | st.dictionaries(
                st.sampled_from(["seq", "readings", "point", "ts", "v", "q"]), kids, max_size=4
            )
        ),
        max_leaves=12,
    )
)
def test_never_raises_on_any_json(obj: object) -> None:
    payload = json.dumps(obj).encode()
    decoded = decode_message(TOPIC, payload, "ew/v1")
    assert decoded.readings or decoded.rejections


def test_the_fast_schema_has_the_contract_fields() -> None:
    from pydantic import TypeAdapter, ValidationError

    from energywatch.protocol import Reading, ReadingsMessage
    from services.ingest.decode import _FastMessage, _FastReading

    for fast, model in ((_FastReading, Reading), (_FastMessage, ReadingsMessage)):
        assert set(fast.__annotations__) - {"__pydantic_config__"} == set(model.model_fields)
    required = {n for n, f in Reading.model_fields.items() if f.is_required()}
    minimal = {"point": "E", "ts": "2026-11-20T08:15:00Z", "v": 1}
    assert set(minimal) == required
    adapter = TypeAdapter(_FastReading)
    adapter.validate_python(minimal)
    for name in required:
        try:
            adapter.validate_python({k: v for k, v in minimal.items() if k != name})
        except ValidationError:
            continue
        raise AssertionError(f"{name} is required by the contract")


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        ["E01", "", "x" * 65, "2026-11-20T08:15:00+08:00", "2026-11-20T08:15:00", "kWh", "1"]
    ),
)
_reading = st.dictionaries(st.sampled_from(["point", "ts", "v", "q", "u", "w"]), _values)
_message = st.dictionaries(
    st.sampled_from(["seq", "backfill", "readings", "x"]),
    st.one_of(_values, st.lists(_reading, max_size=3)),
)


@given(_message)
def test_the_fast_path_accepts_exactly_what_the_contract_accepts(obj: dict) -> None:
    from pydantic import ValidationError

    from energywatch.protocol import ReadingsMessage
    from services.ingest.decode import FAST_MESSAGE, Row

    payload = json.dumps(obj).encode()
    try:
        contract = [Row.of(r) for r in ReadingsMessage.model_validate_json(payload).readings]
    except ValidationError:
        contract = None
    try:
        fast = FAST_MESSAGE.validate_json(payload)
        rows = [
            Row(r["point"], r["ts"], r["v"], r.get("q", 0), r.get("u")) for r in fast["readings"]
        ]
    except ValidationError:
        rows = None
    assert rows == contract
