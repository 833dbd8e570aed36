"""Silences and maintenance windows: which ones hold now, and whether one covers an alert.

A silence suppresses notifications (the alert is still evaluated, stored and shown, with
`silenced_by` set), like Alertmanager's. A maintenance window is a silence that may recur
daily between two local times (e.g. 02:00-04:00 Asia/Shanghai) within its validity span.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

MATCHER_KEYS = frozenset({"rule", "kind", "site", "point", "region", "severity"})


@dataclass(frozen=True)
class Silence:
    id: int
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    daily_from: time | None = None
    daily_to: time | None = None
    timezone: str = "Asia/Shanghai"

    def active(self, now: datetime) -> bool:
        if not (self.starts_at <= now < self.ends_at):
            return False
        if self.daily_from is None or self.daily_to is None:
            return True
        local = now.astimezone(ZoneInfo(self.timezone)).time()
        if self.daily_from <= self.daily_to:
            return self.daily_from <= local < self.daily_to
        return local >= self.daily_from or local < self.daily_to  # window across midnight

    def covers(self, labels: dict[str, str]) -> bool:
        for key, wanted in self.matchers.items():
            have = labels.get(key, "")
            if key == "region":
                if not have.startswith(wanted):
                    return False
            elif have != wanted:
                return False
        return True


def check_matchers(matchers: Any) -> dict[str, str]:
    """Validate a matcher set (used by the API before it stores a silence)."""
    if not isinstance(matchers, dict):
        raise ValueError("matchers: a mapping of rule/kind/site/point/region/severity")
    unknown = set(matchers) - MATCHER_KEYS
    if unknown:
        raise ValueError(f"matchers: unknown keys {sorted(unknown)}; use {sorted(MATCHER_KEYS)}")
    for key, value in matchers.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"matchers.{key}: a non-empty string")
    return dict(matchers)


def first_covering(silences: list[Silence], labels: dict[str, str], now: datetime) -> int | None:
    for silence in silences:
        if silence.active(now) and silence.covers(labels):
            return silence.id
    return None
