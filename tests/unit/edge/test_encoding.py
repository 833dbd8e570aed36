from __future__ import annotations

import json
from datetime import timedelta, timezone

from edge.encoding import encode_readings, format_ts
from edge.queue import QueuedReading
from energywatch.protocol import Quality, ReadingsMessage

CST = timezone(timedelta(hours=8))


def test_payload_matches_the_contract() -> None:
    rows = [
        QueuedReading(1, "E01", 1_795_104_000_000, 123456.7, 0),
        QueuedReading(2, "SO2", 1_795_104_000_250, 18.4, int(Quality.INVALID)),
    ]
    raw = encode_readings(42, True, rows, CST, {"SO2": "mg/m3"})
    message = ReadingsMessage.model_validate_json(raw)
    assert message.seq == 42 and message.backfill
    first, second = message.readings
    assert (first.point, first.v, first.q, first.u) == ("E01", 123456.7, Quality.GOOD, None)
    assert second.q == Quality.INVALID and second.u == "mg/m3"
    assert json.loads(raw)["readings"][0]["ts"] == "2026-11-20T00:00:00+08:00"
    assert int(second.ts.timestamp() * 1000) == 1_795_104_000_250


def test_timestamps_keep_milliseconds_only_when_needed() -> None:
    assert format_ts(1_795_104_000_000, CST) == "2026-11-20T00:00:00+08:00"
    assert format_ts(1_795_104_000_050, CST) == "2026-11-20T00:00:00.050+08:00"
