from __future__ import annotations

from edge.log_limit import RateLimitedLog
from edge.reading_checks import EARLIEST_MS, ReadingChecks
from edge.readings import EdgeReading

NOW_S = 1_795_104_000.0


def test_timestamps_values_and_qualities_outside_the_sane_range_are_refused() -> None:
    checks = ReadingChecks(max_future_s=3600, clock=lambda: NOW_S)
    now_ms = int(NOW_S * 1000)

    def reason(ts_ms: int, v: float = 1.0, q: int = 0) -> str | None:
        refusal = checks.refusal(EdgeReading("P", ts_ms, v, q))
        return None if refusal is None else refusal[0]

    assert reason(now_ms) is None
    assert reason(now_ms + 3_600_000) is None
    assert reason(now_ms + 3_600_001) == "timestamp"
    assert reason(EARLIEST_MS) is None
    assert reason(EARLIEST_MS - 1) == "timestamp"
    assert reason(-62_135_596_800_000) == "timestamp"  # 0001-01-01
    assert reason(now_ms, float("nan")) == "not_finite"
    assert reason(now_ms, q=9) == "quality"


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, msg: str, *args: object) -> None:
        self.lines.append(msg % args)


def test_a_repeated_warning_is_logged_once_an_interval_with_the_count_left_out() -> None:
    now = [0.0]
    sink = _Lines()
    limited = RateLimitedLog(sink, interval_s=60, clock=lambda: now[0])  # type: ignore[arg-type]
    for i in range(5):
        limited.warning("k", "attempt %d", i)
    limited.warning("other", "different")
    now[0] = 61.0
    limited.warning("k", "attempt %d", 5)
    assert sink.lines == [
        "attempt 0",
        "different",
        "attempt 5 (4 similar warnings left out in the last 60 s)",
    ]
