from __future__ import annotations

from datetime import UTC, datetime, timedelta

from energywatch.protocol import Quality
from services.ingest.decode import Decoded, Row
from services.ingest.reasons import Reason
from services.ingest.registry import PointRef, Registry
from services.ingest.validate import check_readings, same_unit

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REGISTRY = Registry.of_points(
    {("S1", "D1"): 1, ("S1", "D2"): 2, ("S2", "D9"): 9},
    [
        ("S1", "E01", PointRef(11, 1, "kWh")),
        ("S1", "G01", PointRef(12, 1, "m3")),
        ("S1", "F01", PointRef(21, 2, "kWh")),
        ("S2", "X01", PointRef(91, 9, "kWh")),
    ],
)


def r(point: str, minutes: float = 0, u: str | None = None) -> Row:
    return Row(point, NOW + timedelta(minutes=minutes), 1.0, Quality.GOOD, u)


def reasons(*readings: Row, device: str = "D1") -> list[Reason]:
    checked = check_readings(Decoded("S1", device, 1, False, list(readings)), REGISTRY, NOW, 300)
    return [x.reason for x in checked.rejections]


def test_accepts_registered_points_of_the_device() -> None:
    checked = check_readings(
        Decoded("S1", "D1", 1, False, [r("E01"), r("G01", u="m³")]), REGISTRY, NOW, 300
    )
    assert checked.point_ids == [11, 12] and len(checked.readings) == 2
    assert checked.rejections == [] and not checked.missed


def test_refusals_by_reason() -> None:
    assert reasons(r("NOPE")) == [Reason.UNKNOWN_POINT]
    assert reasons(r("X01")) == [Reason.POINT_OTHER_SITE]
    assert reasons(r("F01")) == [Reason.POINT_OTHER_DEVICE]
    assert reasons(r("E01", u="MWh")) == [Reason.UNIT_MISMATCH]
    assert reasons(r("E01", minutes=5.5)) == [Reason.FUTURE_TIMESTAMP]
    assert reasons(r("E01", minutes=4.9)) == []
    assert reasons(r("E01", minutes=-60 * 24 * 365)) == []  # old data is backfill, welcome
    assert reasons(r("E01"), r("E01"), device="DX") == [Reason.UNKNOWN_DEVICE]


def test_a_miss_asks_for_a_fresher_registry() -> None:
    assert check_readings(Decoded("S1", "D1", 1, False, [r("NOPE")]), REGISTRY, NOW, 0).missed
    assert check_readings(Decoded("S1", "DX", 1, False, [r("E01")]), REGISTRY, NOW, 0).missed


def test_units() -> None:
    assert same_unit("m³", "m3") and same_unit(" kWh", "kWh")
    assert not same_unit("MW", "mW") and not same_unit("kwh", "kWh")
