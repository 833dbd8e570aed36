"""One evaluation cycle: measure every due rule (or, given a scope, the rules and subjects it
names: services/alerting/events.py), step each rule's subjects' states in the numba kernel,
store the transitions with their evidence, and write the notifications they call for
to the outbox -- all in one transaction, so a crash leaves either the whole cycle or none of
it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from energywatch.core.thresholds import (
    FIRING,
    NODATA_ALERT,
    NODATA_KEEP,
    NODATA_OK,
    OK,
    PENDING,
    Step,
    step_states,
)
from services.alerting import metrics
from services.alerting.events import Scope
from services.alerting.inputs import CycleInputs
from services.alerting.measure import (
    Measured,
    Selection,
    measure,
    plan_drop_scans,
    plan_scans,
    subjects_of,
)
from services.alerting.notify import (
    ALERT_COLUMNS,
    Contacts,
    OpenAlert,
    enqueue,
    targets,
)
from services.alerting.registry import Registry, SharedRegistry
from services.alerting.rollup_cache import RollupCache
from services.alerting.rules import SEVERITIES, Rule, RuleError, load_rules_dir, parse_rule
from services.alerting.silences import Silence, first_covering
from services.alerting.webhooks import WebhookPolicy

log = logging.getLogger(__name__)

STATE_NAMES = {OK: "ok", PENDING: "pending", FIRING: "firing"}
STATE_CODES = {"pending": PENDING, "firing": FIRING}
NODATA_CODES = {"keep": NODATA_KEEP, "ok": NODATA_OK, "alert": NODATA_ALERT}
ADVISORY_LOCK = 0x65770A1E  # one evaluator per database at a time

StepFn = Callable[..., Step]


class RuleSource:
    """Rules from YAML directories (reloaded when a file changes) and the alert_rules table.
    Webhooks of the files are checked against `webhooks` when they are loaded; the table's
    were checked by the API when stored, and every delivery checks again."""

    def __init__(self, dirs: list[Path], webhooks: WebhookPolicy | None = None) -> None:
        self.dirs = dirs
        self.webhooks = webhooks or WebhookPolicy()
        self._stamp: tuple[tuple[str, float], ...] = ()
        self._file_rules: list[Rule] = []

    def _files_stamp(self) -> tuple[tuple[str, float], ...]:
        files = sorted(f for d in self.dirs for f in [*d.glob("*.yaml"), *d.glob("*.yml")])
        return tuple((str(f), f.stat().st_mtime) for f in files)

    def file_rules(self) -> list[Rule]:
        stamp = self._files_stamp()
        if stamp != self._stamp:
            rules: list[Rule] = []
            for d in self.dirs:
                rules.extend(load_rules_dir(d, self.webhooks))
            names = [r.name for r in rules]
            if len(set(names)) != len(names):
                raise RuleError(f"{', '.join(map(str, self.dirs))}: a rule name appears twice")
            self._file_rules, self._stamp = rules, stamp
        return self._file_rules

    def current(self, conn: psycopg.Connection) -> list[Rule]:
        try:
            rules = self.file_rules()
        except RuleError as exc:  # keep the last good set; a bad edit must not stop alerting
            if not self._file_rules:
                raise
            log.error("rules not reloaded: %s", exc)
            rules = self._file_rules
        rules = list(rules)
        names = {r.name for r in rules}
        for name, definition in conn.execute(
            "SELECT name, definition FROM alert_rules WHERE enabled ORDER BY name"
        ):
            try:
                rule = parse_rule(definition, f"alert_rules[{name}]")
            except RuleError as exc:
                log.error("%s", exc)
                continue
            if rule.name in names:
                log.error("alert_rules[%s]: a rules file defines that name; file wins", name)
                continue
            names.add(rule.name)
            rules.append(rule)
        return [r for r in rules if r.enabled]


@dataclass
class CycleReport:
    rules: int = 0
    subjects: int = 0
    transitions: dict[str, int] = field(default_factory=dict)
    notifications: int = 0
    seconds: float = 0.0
    measure_seconds: float = 0.0  # reading the inputs (mostly database time)
    kernel_seconds: float = 0.0


@dataclass
class Evaluator:
    conn: psycopg.Connection  # autocommit; each cycle is one explicit transaction
    rules: RuleSource
    step: StepFn = step_states
    registries: SharedRegistry = field(default_factory=SharedRegistry)
    cache: RollupCache | None = field(default_factory=RollupCache)
    # Evaluation groups: several evaluators may share a database, each owning the rules its
    # `group` accepts (each on its own connection and thread, so a slow group never holds up
    # a fast one). Exactly one of them (`retire=True`) closes the alerts of removed rules.
    group: Callable[[Rule], bool] | None = None
    group_name: str = "all"
    retire: bool = True
    _registry: Registry | None = None  # the snapshot `_subjects` was made for
    _last_run: dict[str, datetime] = field(default_factory=dict)
    # rule name -> (the rule, its subjects sorted by id, their ids), for this registry
    # snapshot. By name, checked against the rule: the table's rules are parsed anew every
    # cycle. Ids as an array, not a dict by id: a province's point rules have 200,000
    # subjects each, and a dict per rule cost 10 MB.
    _subjects: dict[str, tuple[Rule, list[Any], np.ndarray]] = field(default_factory=dict)

    def registry(self) -> Registry:
        reg = self.registries.get(self.conn)
        if reg is not self._registry:
            self._registry = reg
            self._subjects = {}
        return reg

    def invalidate_registry(self) -> None:
        self.registries.invalidate()

    def cycle(self, now: datetime | None = None, scope: Scope | None = None) -> CycleReport:
        """Evaluate every due rule over all its subjects (a sweep), or, given a `scope`, only
        the rules and subjects it names (services/alerting/events.py)."""
        now = now or datetime.now(UTC)
        started = time.perf_counter()
        report = CycleReport()
        with self.conn.transaction():
            every_rule = self.rules.current(self.conn)
            rules = [r for r in every_rule if self.group is None or self.group(r)]
            reg = self.registry()
            by_name = {r.name: r for r in rules}
            # An event reads the open alerts of what it measured (below): its cost follows
            # the points that changed, not how many alerts are open in the region.
            event = scope is not None and not scope.time_driven
            open_alerts = {} if event else self._open_alerts(None if self.retire else rules)
            self._forget_removed(rules)
            if scope is None:
                due = [r for r in rules if self._due(r, now)]
                whole = due
                selection = {r.name: self._subjects_of(r, reg)[0] for r in due}
            else:
                due, whole, selection = self._scoped(rules, reg, scope, open_alerts, now)
            if self.cache is not None and any(r.per_site or r.kind == "completeness" for r in due):
                rewritten = None if scope is None else scope.rollup_points
                self.cache.refresh(self.conn, reg.points, reg.summed_points, rewritten)
            inputs = CycleInputs(
                self.conn,
                now,
                self.cache,
                reg,
                plan_scans(due, reg, selection),
                plan_drop_scans(due),
                None if scope is None else _sites_of(due, selection),
            )
            resolved: list[OpenAlert] = []
            # An event changes only what it measured; reminders, escalations and silences
            # follow the clock, and ticks and sweeps look at every firing alert for them.
            measured_keys: set[tuple[str, str]] | None = set() if event else None
            # One rule at a time: a sweep of a province holds one rule's 200,000 subjects at
            # a time, not every rule's.
            for rule in due:
                m0 = time.perf_counter()
                m = measure(rule, reg, inputs, selection)
                report.measure_seconds += time.perf_counter() - m0
                if event:
                    open_alerts.update(self._open_alerts_of(m))
                    assert measured_keys is not None
                    measured_keys.update((rule.name, subject) for subject in m.subjects)
                k0 = time.perf_counter()
                old_s, old_l, new = self._step(m, open_alerts, now)
                report.kernel_seconds += time.perf_counter() - k0
                resolved += self._apply(m, old_s, old_l, new, open_alerts, now, report)
                report.subjects += len(m.subjects)
            if self.retire and scope is None:
                resolved += self._retire_removed_rules(
                    open_alerts, {r.name: r for r in every_rule}, now, report
                )
            report.notifications = self._notify(
                open_alerts, resolved, by_name, reg, now, measured_keys
            )
            for r in whole:
                self._last_run[r.name] = now
            report.rules = len(rules)
            if self.retire and not event:  # an event saw only the alerts it measured
                metrics.RULES.set(len(every_rule))
                counts = {"pending": 0, "firing": 0}
                for a in open_alerts.values():
                    counts[a.state] = counts.get(a.state, 0) + 1
                for state, count in counts.items():
                    metrics.ALERTS.labels(state).set(count)
        report.seconds = time.perf_counter() - started
        metrics.EVALUATION_SECONDS.labels(self.group_name).observe(report.seconds)
        return report

    def _scoped(
        self,
        rules: list[Rule],
        reg: Registry,
        scope: Scope,
        open_alerts: dict[tuple[str, str], OpenAlert],
        now: datetime,
    ) -> tuple[list[Rule], list[Rule], Selection]:
        """The rules a scope covers, those of them it covers whole, and their subjects (as a
        selection `measure` reads). Costs what the scope names, not what the region holds:
        subjects are looked up by id among the rule's, found once per registry snapshot."""
        due: list[Rule] = []
        whole: list[Rule] = []
        selection: Selection = {}
        alerts = list(open_alerts.values())
        for rule in rules:
            ids = scope.ids(rule, reg, alerts, self._due(rule, now))
            if ids is not None and not ids:
                continue  # names none of its subjects: not even the memo is looked up
            subjects, known = self._subjects_of(rule, reg)
            if ids is None:
                selection[rule.name] = subjects
                whole.append(rule)
            else:
                picked = _pick(subjects, known, ids)
                if not picked:
                    continue
                selection[rule.name] = picked
            due.append(rule)
        return due, whole, selection

    def _subjects_of(self, rule: Rule, reg: Registry) -> tuple[list[Any], np.ndarray]:
        """Every subject of the rule (sorted by id) and their ids."""
        known = self._subjects.get(rule.name)
        if known is None or known[0] != rule:
            subjects = subjects_of(rule, reg)
            ids = np.fromiter((s.id for s in subjects), np.int64, len(subjects))
            known = self._subjects[rule.name] = (rule, subjects, ids)
        return known[1], known[2]

    def _forget_removed(self, rules: list[Rule]) -> None:
        for name in self._subjects.keys() - {r.name for r in rules}:
            del self._subjects[name]

    def _due(self, rule: Rule, now: datetime) -> bool:
        last = self._last_run.get(rule.name)
        return rule.every is None or last is None or now - last >= rule.every

    def _open_alerts(self, rules: list[Rule] | None) -> dict[tuple[str, str], OpenAlert]:
        """Open alerts of `rules` (None: of every rule, for the group that retires removed
        rules' alerts)."""
        if rules is None:
            rows = self.conn.execute(
                f"SELECT {ALERT_COLUMNS} FROM alerts WHERE state IN ('pending', 'firing')"
            ).fetchall()
        else:
            rows = self.conn.execute(
                f"SELECT {ALERT_COLUMNS} FROM alerts"
                " WHERE state IN ('pending', 'firing') AND rule = ANY(%s)",
                ([r.name for r in rules],),
            ).fetchall()
        return {(r[1], r[3]): OpenAlert(*r) for r in rows}

    def _open_alerts_of(self, m: Measured) -> dict[tuple[str, str], OpenAlert]:
        """Open alerts of the subjects measured, through the index of open alerts by rule
        and subject."""
        if not m.subjects:
            return {}
        rows = self.conn.execute(
            f"SELECT {ALERT_COLUMNS} FROM alerts"
            " WHERE state IN ('pending', 'firing') AND rule = %s AND subject = ANY(%s)",
            (m.rule.name, list(m.subjects)),
        ).fetchall()
        return {(r[1], r[3]): OpenAlert(*r) for r in rows}

    def _step(
        self,
        m: Measured,
        open_alerts: dict[tuple[str, str], OpenAlert],
        now: datetime,
    ) -> tuple[np.ndarray, np.ndarray, Step]:
        """One kernel call over the rule's subjects: their states before, and the step."""
        n = len(m.subjects)
        state = np.zeros(n, np.int8)
        level = np.full(n, -1, np.int8)
        since = np.zeros(n, np.int64)
        for j, subject in enumerate(m.subjects):
            alert = open_alerts.get((m.rule.name, subject))
            if alert is not None:
                state[j] = STATE_CODES[alert.state]
                level[j] = SEVERITIES.index(alert.severity)
                began = alert.fired_at if alert.state == "firing" else alert.started_at
                since[j] = _ms(began or alert.started_at)
        new = self.step(
            np.asarray(m.value, dtype=np.float64),
            np.broadcast_to(m.thresholds, (n, len(SEVERITIES))).astype(np.float64),
            np.broadcast_to(m.clear, (n,)).astype(np.float64),
            np.full(n, 1 if m.rule.effective_direction == "above" else -1, np.int8),
            np.full(n, int(m.rule.for_.total_seconds() * 1000), np.int64),
            np.full(n, NODATA_CODES[m.rule.no_data], np.int8),
            state,
            level,
            since,
            _ms(now),
        )
        return state, level, new

    def _apply(
        self,
        m: Measured,
        old_state: np.ndarray,
        old_level: np.ndarray,
        new: Step,
        open_alerts: dict[tuple[str, str], OpenAlert],
        now: datetime,
        report: CycleReport,
    ) -> list[OpenAlert]:
        """Store what changed; returns alerts resolved in this step."""
        resolved: list[OpenAlert] = []
        changed = np.nonzero((old_state != new.state) | (old_level != new.level))[0]
        opened = changed[old_state[changed] == OK]
        if opened.size:
            self._open(m, opened.tolist(), new, open_alerts, now, report)
        for i in changed[old_state[changed] != OK].tolist():
            s0, s1 = int(old_state[i]), int(new.state[i])
            severity = SEVERITIES[max(int(new.level[i]), 0)]
            value = _num(m.value[i])
            threshold = _num(m.thresholds_of(i)[max(int(new.level[i]), 0)])
            subject = m.subjects[i]
            evidence = self._evidence(m, i)
            alert = open_alerts[(m.rule.name, subject)]
            if s1 == OK:
                final = "resolved" if s0 == FIRING else "cancelled"
                self.conn.execute(
                    "UPDATE alerts SET state = %s, resolved_at = %s, value = %s, "
                    "last_evaluated_at = %s WHERE id = %s",
                    (final, now, value, now, alert.id),
                )
                self._write_transitions(
                    [
                        self._transition_row(
                            alert.id,
                            alert.state,
                            final,
                            alert.severity,
                            value,
                            alert.threshold,
                            m,
                            evidence,
                            now,
                        )
                    ]
                )
                del open_alerts[(m.rule.name, subject)]
                alert.state, alert.resolved_at, alert.value = final, now, value
                if final == "resolved":
                    resolved.append(alert)
                report.transitions[final] = report.transitions.get(final, 0) + 1
                continue
            to_state = STATE_NAMES[s1]
            fired_at = now if (s0 == PENDING and s1 == FIRING) else alert.fired_at
            self.conn.execute(
                "UPDATE alerts SET state = %s, severity = %s, value = %s, threshold = %s, "
                "fired_at = %s, last_evaluated_at = %s WHERE id = %s",
                (to_state, severity, value, threshold, fired_at, now, alert.id),
            )
            self._write_transitions(
                [
                    self._transition_row(
                        alert.id,
                        alert.state,
                        to_state,
                        severity,
                        value,
                        threshold,
                        m,
                        evidence,
                        now,
                    )
                ]
            )
            alert.state, alert.severity, alert.value = to_state, severity, value
            alert.threshold, alert.fired_at = threshold, fired_at
            label = to_state if s0 != s1 else "severity"
            report.transitions[label] = report.transitions.get(label, 0) + 1
        self._refresh_values(m, changed, open_alerts, now)
        return resolved

    def _refresh_values(
        self,
        m: Measured,
        changed: np.ndarray,
        open_alerts: dict[tuple[str, str], OpenAlert],
        now: datetime,
    ) -> None:
        """Keep the current value of unchanged open alerts up to date, in one statement that
        writes only the values that moved (a sweep over a region with many open alerts must
        not rewrite them all)."""
        skip = set(changed.tolist())
        ids, values = [], []
        for i, subject in enumerate(m.subjects):
            alert = open_alerts.get((m.rule.name, subject))
            if alert is None or i in skip:
                continue
            value = _num(m.value[i])
            if value != alert.value:
                ids.append(alert.id)
                values.append(value)
                alert.value = value
        if ids:
            self.conn.execute(
                "UPDATE alerts a SET value = v.value, last_evaluated_at = %s "
                "FROM unnest(%s::bigint[], %s::float8[]) AS v(id, value) WHERE a.id = v.id",
                (now, ids, values),
            )

    def _evidence(self, m: Measured, i: int) -> dict[str, Any]:
        return {
            "value": _num(m.value[i]),
            "thresholds": {
                s: _num(t) for s, t in zip(SEVERITIES, m.thresholds_of(i), strict=True) if t == t
            },
            "clear": _num(m.clear_of(i)),
            "direction": m.rule.effective_direction,
            "for_s": m.rule.for_.total_seconds(),
            "window_s": m.rule.window.total_seconds(),
            "unit": m.rule.unit,
            "source": m.rule.source,
            "inputs": m.evidence_of(i),
        }

    def _open(
        self,
        m: Measured,
        subjects: list[int],
        new: Step,
        open_alerts: dict[tuple[str, str], OpenAlert],
        now: datetime,
        report: CycleReport,
    ) -> None:
        """Insert the alerts that open in this step, with their first transitions, in one
        pipelined batch each: a region-wide outage opens an alert for every point at once."""
        rows = []
        for i in subjects:
            state = "firing" if int(new.state[i]) == FIRING else "pending"
            level = max(int(new.level[i]), 0)
            rows.append(
                (
                    m.rule.name,
                    m.rule.kind,
                    m.subjects[i],
                    m.site_ids[i],
                    m.point_ids[i],
                    state,
                    SEVERITIES[level],
                    _num(m.value[i]),
                    _num(m.thresholds_of(i)[level]),
                    m.rule.unit,
                    now,
                    now if state == "firing" else None,
                    now,
                )
            )
        inserted: list[OpenAlert] = []
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO alerts (rule, kind, subject, site_id, point_id, state, severity, "
                "value, threshold, unit, started_at, fired_at, last_evaluated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                f"RETURNING {ALERT_COLUMNS}",
                rows,
                returning=True,
            )
            while True:
                row = cur.fetchone()
                assert row is not None
                inserted.append(OpenAlert(*row))
                if not cur.nextset():
                    break
        transitions = []
        for i, alert in zip(subjects, inserted, strict=True):
            open_alerts[(m.rule.name, alert.subject)] = alert
            transitions.append(
                self._transition_row(
                    alert.id,
                    None,
                    alert.state,
                    alert.severity,
                    alert.value,
                    alert.threshold,
                    m,
                    self._evidence(m, i),
                    now,
                )
            )
            report.transitions[alert.state] = report.transitions.get(alert.state, 0) + 1
        self._write_transitions(transitions)

    @staticmethod
    def _transition_row(
        alert_id: int,
        from_state: str | None,
        to_state: str,
        severity: str,
        value: float | None,
        threshold: float | None,
        m: Measured,
        evidence: dict[str, Any],
        now: datetime,
    ) -> tuple[Any, ...]:
        return (
            alert_id,
            now,
            from_state,
            to_state,
            severity,
            value,
            threshold,
            m.rule.window.total_seconds(),
            json.dumps(evidence),
        )

    def _write_transitions(self, rows: list[tuple[Any, ...]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO alert_transitions (alert_id, at, from_state, to_state, severity, "
                "value, threshold, window_s, evidence) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        for row in rows:
            metrics.TRANSITIONS.labels(row[3]).inc()

    def _retire_removed_rules(
        self,
        open_alerts: dict[tuple[str, str], OpenAlert],
        by_name: dict[str, Rule],
        now: datetime,
        report: CycleReport,
    ) -> list[OpenAlert]:
        resolved = []
        for key, alert in list(open_alerts.items()):
            if alert.rule in by_name:
                continue
            final = "resolved" if alert.state == "firing" else "cancelled"
            self.conn.execute(
                "UPDATE alerts SET state = %s, resolved_at = %s WHERE id = %s",
                (final, now, alert.id),
            )
            self.conn.execute(
                "INSERT INTO alert_transitions (alert_id, at, from_state, to_state, severity, "
                "evidence) VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    alert.id,
                    now,
                    alert.state,
                    final,
                    alert.severity,
                    json.dumps({"reason": "rule removed or disabled"}),
                ),
            )
            del open_alerts[key]
            alert.state, alert.resolved_at = final, now
            if final == "resolved":
                resolved.append(alert)
            report.transitions[final] = report.transitions.get(final, 0) + 1
        return resolved

    def _notify(
        self,
        open_alerts: dict[tuple[str, str], OpenAlert],
        resolved: list[OpenAlert],
        by_name: dict[str, Rule],
        reg: Registry,
        now: datetime,
        only: set[tuple[str, str]] | None = None,
    ) -> int:
        """Write the notifications due, for the firing alerts whose (rule, subject) is in
        `only` (None: all of them) and those resolved."""
        firing = [
            a
            for key, a in open_alerts.items()
            if a.state == "firing" and a.rule in by_name and (only is None or key in only)
        ]
        notified_resolved = [a for a in resolved if a.notified_severity is not None]
        if not firing and not notified_resolved:
            return 0
        silences = self._silences(now)
        contacts = Contacts.load(self.conn)
        written = 0
        for alert in firing:
            rule = by_name.get(alert.rule)
            if rule is None:
                continue
            site = reg.sites.get(alert.site_id) if alert.site_id is not None else None
            site_code = site.code if site else None
            division = site.division_code if site else None
            labels = {
                "rule": alert.rule,
                "kind": alert.kind,
                "severity": alert.severity,
                "site": site_code or "",
                "region": division or "",
                "point": alert.subject.removeprefix("point:"),
            }
            silenced_by = first_covering(silences, labels, now)
            if silenced_by != alert.silenced_by:
                self.conn.execute(
                    "UPDATE alerts SET silenced_by = %s WHERE id = %s", (silenced_by, alert.id)
                )
                alert.silenced_by = silenced_by
            if silenced_by is not None:
                continue
            to = targets(rule.recipients, alert.site_id, division, contacts)
            if alert.notified_severity != alert.severity:
                written += enqueue(
                    self.conn,
                    alert,
                    rule,
                    "firing",
                    f"firing:{alert.severity}",
                    to,
                    site_code,
                    division,
                )
                self._mark_notified(alert, now, alert.severity)
            elif (
                rule.renotify is not None
                and alert.acknowledged_at is None
                and alert.last_notified_at is not None
                and now - alert.last_notified_at >= rule.renotify
            ):
                written += enqueue(
                    self.conn,
                    alert,
                    rule,
                    "reminder",
                    f"reminder:{alert.notify_count}",
                    to,
                    site_code,
                    division,
                )
                self._mark_notified(alert, now, alert.severity)
            if (
                rule.escalation is not None
                and alert.severity != "info"  # an advisory is the operator's, never escalated
                and alert.acknowledged_at is None
                and alert.escalated_at is None
                and alert.fired_at is not None
                and now - alert.fired_at >= rule.escalation.after
            ):
                up = targets(rule.escalation.recipients, alert.site_id, division, contacts)
                written += enqueue(
                    self.conn, alert, rule, "escalation", "escalation", up, site_code, division
                )
                self.conn.execute(
                    "UPDATE alerts SET escalated_at = %s WHERE id = %s", (now, alert.id)
                )
                alert.escalated_at = now
                self.conn.execute(
                    "INSERT INTO alert_transitions (alert_id, at, from_state, to_state, "
                    "severity, value, threshold, evidence) "
                    "VALUES (%s, %s, 'firing', 'escalated', %s, %s, %s, %s)",
                    (
                        alert.id,
                        now,
                        alert.severity,
                        alert.value,
                        alert.threshold,
                        json.dumps(
                            {
                                "unacknowledged_for_s": (now - alert.fired_at).total_seconds(),
                                "targets": [t for _, t in up],
                            }
                        ),
                    ),
                )
        for alert in notified_resolved:
            rule = by_name.get(alert.rule)
            site = reg.sites.get(alert.site_id) if alert.site_id is not None else None
            division = site.division_code if site else None
            recipients = rule.recipients if rule else ()
            if rule and rule.escalation and alert.escalated_at is not None:
                recipients = (*recipients, *rule.escalation.recipients)
            to = targets(recipients, alert.site_id, division, contacts)
            written += enqueue(
                self.conn,
                alert,
                rule,
                "resolved",
                "resolved",
                to,
                site.code if site else None,
                division,
            )
        return written

    def _mark_notified(self, alert: OpenAlert, now: datetime, severity: str) -> None:
        self.conn.execute(
            "UPDATE alerts SET last_notified_at = %s, notified_severity = %s, "
            "notify_count = notify_count + 1 WHERE id = %s",
            (now, severity, alert.id),
        )
        alert.last_notified_at, alert.notified_severity = now, severity
        alert.notify_count += 1

    def _silences(self, now: datetime) -> list[Silence]:
        rows = self.conn.execute(
            "SELECT id, matchers, starts_at, ends_at, daily_from, daily_to, timezone "
            "FROM silences WHERE starts_at <= %s AND ends_at > %s ORDER BY id",
            (now, now),
        ).fetchall()
        return [Silence(*r) for r in rows]


def _sites_of(rules: list[Rule], selection: Selection) -> frozenset[int]:
    """The sites a scoped evaluation's site rules cover."""
    return frozenset(s.id for r in rules if r.per_site for s in selection.get(r.name, ()))


def _pick(subjects: list[Any], ids: np.ndarray, wanted: Collection[int]) -> list[Any]:
    """The subjects (sorted by id, their ids `ids`) whose id is wanted, in order of id."""
    want = np.unique(np.fromiter(wanted, np.int64, len(wanted)))
    at = np.searchsorted(ids, want)
    found = at < ids.size
    found[found] = ids[at[found]] == want[found]
    return [subjects[i] for i in at[found].tolist()]


def try_lock(conn: psycopg.Connection, group: int = 0) -> bool:
    """Take the lock of one evaluation group for this session (released when it ends)."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK + group,)).fetchone()
    return bool(row and row[0])


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _num(x: float) -> float | None:
    v = float(x)
    return None if v != v else v
