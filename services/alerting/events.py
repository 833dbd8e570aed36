"""What an evaluation covers, and when the loop runs one (docs/alerting.md, "Evaluation").

Three kinds of evaluation, all through `Evaluator.cycle`:

- event: ingest or the rollup committed rows and said which points (NOTIFY,
  energywatch/storage/changes.py). Only the rules those rows feed run, and only for the
  subjects those points belong to, at once; a readings rule with an `every` of its own is
  left to its cadence (see `Changes.ids`). Notifications that arrive while an evaluation
  runs are folded into the next one, so under load evaluations grow instead of queueing.
- tick, every `alerting.interval_s`: what time alone changes. Rules whose `every` is due run
  over all their subjects (no-data, budget pace and the like run on their own cadence); the
  other rules only for the subjects that have an open alert (`for` expiry, a window emptying
  under a pending or firing alert, its current value).
- sweep, every `alerting.sweep_s` and first thing after (re)connecting: every due rule over
  every subject, as the timer-driven design did every cycle. It catches whatever a lost
  notification, or a window that slid without any new row, would otherwise leave unseen.

With `alerting.events` off the loop only sweeps, every `interval_s`: the earlier design,
kept as the benchmark's baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Literal, Protocol

import psycopg

from energywatch.storage.changes import (
    READINGS_CHANNEL,
    REGISTRY_CHANNEL,
    ROLLUPS_CHANNEL,
    decode,
)
from services.alerting.notify import OpenAlert
from services.alerting.registry import Registry
from services.alerting.rules import SITE_KINDS, Rule

# Rule kinds whose value moves when a point gets a reading, or when its 15-minute rollup is
# rewritten (site figures sum the rollups of their points).
READING_KINDS = frozenset({"power", "pollutant", "stuck", "counter_reset", "negative", "silent"})
ROLLUP_KINDS = SITE_KINDS | {"completeness"}
CHANNELS = (READINGS_CHANNEL, ROLLUPS_CHANNEL, REGISTRY_CHANNEL)


class Scope(Protocol):
    """Which subjects of `rule` a partial evaluation covers: point ids (point rules) or site
    ids (site rules); None: all of them. An empty collection leaves the rule out."""

    def ids(
        self, rule: Rule, reg: Registry, open_alerts: Collection[OpenAlert], due: bool
    ) -> Collection[int] | None: ...

    @property
    def rollup_points(self) -> Collection[int] | None:
        """Points whose rollups were rewritten (the cache re-reads just those); None: read
        what was written since the last read."""

    @property
    def time_driven(self) -> bool:
        """True: reminders, escalations and silences of every firing alert are due for a
        look; False: only of the alerts this evaluation measures."""


@dataclass
class Changes:
    """Points with new readings and points with rewritten rollups, folded over notifications."""

    readings: set[int] = field(default_factory=set)
    rollups: set[int] = field(default_factory=set)
    notifications: int = 0
    registry: bool = False  # the registry changed: reload it (not itself an evaluation)

    def add(self, channel: str, payload: str) -> None:
        self.notifications += 1
        if channel == REGISTRY_CHANNEL:
            self.registry = True
            return
        target = self.readings if channel == READINGS_CHANNEL else self.rollups
        target.update(decode(payload))

    def take(self) -> Changes:
        """Hand over what was collected and start empty."""
        taken = Changes(self.readings, self.rollups, self.notifications)
        self.readings, self.rollups, self.notifications = set(), set(), 0
        return taken

    def __bool__(self) -> bool:
        return bool(self.readings or self.rollups)

    @property
    def rollup_points(self) -> Collection[int]:
        return self.rollups

    @property
    def time_driven(self) -> bool:
        return False

    def __len__(self) -> int:
        return len(self.readings) + len(self.rollups)

    def ids(
        self, rule: Rule, reg: Registry, open_alerts: Collection[OpenAlert], due: bool
    ) -> Collection[int]:
        if rule.kind in READING_KINDS:
            # A readings rule that says how often to look (`every`: the data-quality checks
            # over an hour or two of readings) is looked at that often over all its subjects,
            # and every tick over those with an open alert. Evaluated again for each point
            # that reports, it would re-read its window once a minute per point: in a province
            # 200,000 windows of 60-120 readings a minute, most of the database's work.
            return () if rule.every is not None else self.readings
        if rule.kind not in ROLLUP_KINDS:
            return ()
        if not rule.per_site:
            return self.rollups
        points = reg.points
        return {points[p].site_id for p in self.rollups if p in points}


@dataclass(frozen=True)
class Tick:
    """What time alone changes (see the module's docstring). It reads no rollups: events
    brought the rewritten ones, and the sweep reads whatever was written since its last read
    (a lost notification's rows among them)."""

    rollup_points: tuple[int, ...] = ()
    time_driven: bool = True

    def ids(
        self, rule: Rule, reg: Registry, open_alerts: Collection[OpenAlert], due: bool
    ) -> Collection[int] | None:
        if rule.every is not None and due:
            return None
        ids = (
            a.site_id if rule.per_site else a.point_id for a in open_alerts if a.rule == rule.name
        )
        return {i for i in ids if i is not None}


Run = Literal["sweep", "tick", "event"]


@dataclass
class Schedule:
    """Which evaluation is next, on the monotonic clock; a sweep is due at `start`."""

    interval_s: float
    sweep_s: float
    events: bool
    start: float
    next_sweep: float = 0.0
    next_tick: float = 0.0

    def __post_init__(self) -> None:
        self.next_sweep = self.start
        self.next_tick = self.start + self.interval_s

    def due(self, now: float, changed: bool) -> Run | None:
        """The evaluation to run now (and book the next one of its kind), or None."""
        if now >= self.next_sweep:
            period = self.sweep_s if self.events else self.interval_s
            self.next_sweep = max(self.next_sweep + period, now)
            self.next_tick = now + self.interval_s  # a sweep does what a tick would
            return "sweep"
        if not self.events:
            return None
        if now >= self.next_tick:
            self.next_tick = max(self.next_tick + self.interval_s, now)
            return "tick"
        return "event" if changed else None

    def wait_s(self, now: float) -> float:
        upcoming = min(self.next_sweep, self.next_tick) if self.events else self.next_sweep
        return max(0.0, upcoming - now)


Receive = Callable[[psycopg.Connection, Changes, float], None]


def listen(conn: psycopg.Connection) -> None:
    for channel in CHANNELS:
        conn.execute(f"LISTEN {channel}")


def receive(conn: psycopg.Connection, changes: Changes, timeout: float) -> None:
    """Wait up to `timeout` s for a notification; fold it and every one already waiting into
    `changes`."""
    for n in conn.notifies(timeout=timeout, stop_after=1):
        changes.add(n.channel, n.payload)
    if changes:
        for n in conn.notifies(timeout=0.0):
            changes.add(n.channel, n.payload)
