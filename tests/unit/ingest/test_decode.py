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
    import msgspec

    from energywatch.protocol import Reading, ReadingsMessage
    from services.ingest.decode import FastMessage, Row

    for fast, model in ((Row, Reading), (FastMessage, ReadingsMessage)):
        assert set(fast.__struct_fields__) == set(model.model_fields)
        required = {n for n, f in model.model_fields.items() if f.is_required()}
        defaults = len(fast.__struct_defaults__)
        assert set(fast.__struct_fields__[: len(fast.__struct_fields__) - defaults]) == required
    minimal = {"point": "E", "ts": "2026-11-20T08:15:00Z", "v": 1}
    msgspec.convert(minimal, Row)


_timestamps = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),  # naive: refused by both
    st.sampled_from(
        [
            "2026-11-20T08:15:00+08:00",
            "2026-11-20T08:15:00z",
            "2026-11-20t08:15:00Z",
            "2026-11-20 08:15:00+08:00",
            "2026-11-20T08:15:00.1234567+08:00",
            "2026-11-20T08:15+08:00",
            "2026-11-20T08:15:60Z",
            "2026-11-20T24:00:00Z",
            "2026-11-20T08:15:00+0800",
            "2026-11-20T08:15:00+08",
            "20261120T081500Z",
            "2026-W47-5T08:15:00Z",
            "2026-11-20T08:15:00.Z",
            "2026-11-20T08:15:00,5Z",
            "1763626500",
            "",
        ]
    ),
)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**6),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    _timestamps,
    st.sampled_from(["E01", "", "x" * 64, "x" * 65, "kWh", "m³", "1", "1.5", "true", "0"]),
)
_reading = st.dictionaries(st.sampled_from(["point", "ts", "v", "q", "u", "w"]), _values)
_message = st.dictionaries(
    st.sampled_from(["seq", "backfill", "readings", "x"]),
    st.one_of(_values, st.lists(_reading, max_size=3)),
)


def _both(payload: bytes) -> tuple[list | None, list | None]:
    import msgspec
    from pydantic import ValidationError

    from energywatch.protocol import ReadingsMessage
    from services.ingest.decode import FAST_DECODER, Row, takes_fast_path

    try:
        message = ReadingsMessage.model_validate_json(payload)
        contract = [(message.seq, message.backfill, Row.of(r)) for r in message.readings]
    except ValidationError:
        contract = None
    try:
        if not takes_fast_path(payload):
            raise msgspec.ValidationError("slow path")
        fast = FAST_DECODER.decode(payload)
        rows = [(fast.seq, fast.backfill, r) for r in fast.readings]
    except msgspec.MsgspecError:
        rows = None
    return contract, rows


def _same(contract: list | None, fast: list | None) -> None:
    """The fast path may refuse what the contract accepts (the slow path then takes the
    message), never the reverse; what it accepts comes out the same, instant and offset."""
    if fast is None:
        return
    assert contract is not None
    assert fast == contract
    for (_, _, a), (_, _, b) in zip(fast, contract, strict=True):
        assert a.ts.utcoffset() == b.ts.utcoffset()
        assert type(a.q) is type(b.q)


@given(_message)
def test_the_fast_path_accepts_nothing_the_contract_refuses(obj: dict) -> None:
    _same(*_both(json.dumps(obj).encode()))


_aware = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
# Mostly well-formed readings, so that both paths accept many of them.
_plausible = st.fixed_dictionaries(
    {
        "point": st.one_of(st.text(min_size=1, max_size=64), st.text(max_size=66), _values),
        "ts": st.one_of(_aware, _aware, _timestamps),
        "v": st.one_of(st.floats(), st.integers(), _values),
    },
    optional={
        "q": st.one_of(st.integers(0, 4), st.integers(-1, 5), st.floats(0, 5), _values),
        "u": st.one_of(st.text(max_size=16), st.text(max_size=17), _values),
    },
)


@given(st.lists(_plausible, min_size=1, max_size=2), st.integers(0, 2**70))
def test_the_fast_path_agrees_on_readings(readings: list, seq: int) -> None:
    _same(*_both(json.dumps({"seq": seq, "readings": readings}).encode()))


def test_duplicate_keys_are_read_alike() -> None:
    for payload in (
        b'{"seq": 1, "readings": [{"point": "A", "point": "B", "ts": "2026-11-20T08:15:00Z",'
        b' "v": 1}]}',
        b'{"seq": 1, "seq": 2, "readings": [{"point": "A", "ts": "2026-11-20T08:15:00Z",'
        b' "v": 1, "v": 2}]}',
    ):
        contract, fast = _both(payload)
        _same(contract, fast)


def test_the_fast_path_takes_an_ordinary_message() -> None:
    contract, fast = _both(encode(reading(), reading("E02", v=2, ts="2026-11-20T00:15:00Z")))
    assert fast is not None and fast == contract
