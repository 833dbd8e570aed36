"""`energywatch alerting`: the evaluation groups and the outbox worker, threads of one process.

Each group (fast, slow) runs while it holds its group's lock (a second instance waits as a
standby): at once for what ingest and the rollup say changed, every `alerting.interval_s` for
what time changes, and a full sweep every `alerting.sweep_s` (services/alerting/events.py).
The groups share one registry snapshot. The outbox worker runs in a thread of its own, woken by
NOTIFY when a cycle writes notifications, and also polls for retries that fall due.
SIGINT/SIGTERM stop them all after the current cycle or delivery.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg

from energywatch import heap
from energywatch.backoff import Backoff
from energywatch.dependencies import Dependency, connect_database, database_problem
from energywatch.errors import DependencyError
from energywatch.settings import AlertingSettings, Settings, require_secrets
from services.alerting import events, metrics
from services.alerting.delivery import Deliverer, RetryPolicy
from services.alerting.evaluator import Evaluator, RuleSource, try_lock
from services.alerting.notify import OUTBOX_CHANNEL
from services.alerting.registry import SharedRegistry
from services.alerting.rules import DEFAULT_RULES_DIR, Rule
from services.alerting.senders import EmailSender, Sender, WebhookSender
from services.alerting.webhooks import webhook_policy

log = logging.getLogger(__name__)
# Registry reload when no notification said it changed. A listening session is told of every
# change, and a group that (re)connects reloads anyway, so this is for a table changed without
# its trigger. A province's 200,000 points take seconds of Python and 45 MB more while both
# snapshots live: reloading every 10 minutes showed as a stalled alert and a memory peak.
REGISTRY_BACKSTOP_S = 3600.0
# A run over this many subjects (a sweep, a data-quality check over a province's points)
# gives its free heap pages back to the system when it ends (energywatch/heap.py).
LARGE_RUN_SUBJECTS = 10_000


def rule_dirs(settings: Settings) -> list[Path]:
    dirs = [DEFAULT_RULES_DIR] if settings.alerting.default_rules else []
    if settings.alerting.rules_dir is not None:
        dirs.append(settings.alerting.rules_dir)
    return dirs


def rule_source(settings: Settings) -> RuleSource:
    return RuleSource(rule_dirs(settings), webhook_policy(settings))


def make_senders(settings: Settings) -> dict[str, Sender]:
    a = settings.alerting
    return {
        "webhook": WebhookSender(
            a.webhook_secret.get_secret_value().encode(),
            a.webhook_timeout_s,
            webhook_policy(settings),
        ),
        "email": EmailSender(
            a.smtp_host,
            a.smtp_port,
            a.smtp_sender,
            starttls=a.smtp_starttls,
            username=a.smtp_username,
            password=a.smtp_password.get_secret_value() if a.smtp_password else None,
        ),
    }


def _lost(
    database: Dependency, url: str, exc: DependencyError | psycopg.Error, backoff: Backoff
) -> float:
    """Report the outage (once, one line) and return how long to wait before reconnecting."""
    database.down(str(exc) if isinstance(exc, DependencyError) else database_problem(url, exc))
    return backoff.failed()


def _deliver_loop(settings: Settings, stop: threading.Event, database: Dependency) -> None:
    url = settings.database.url
    a = settings.alerting
    retry = RetryPolicy(max_attempts=a.retry_max_attempts, base_s=a.retry_base_s)
    senders = make_senders(settings)
    backoff = Backoff(1.0, 30.0)
    while not stop.is_set():
        try:
            with (
                connect_database(url, autocommit=True) as conn,
                connect_database(url, autocommit=True) as listen,
            ):
                database.up()
                backoff.reset()
                listen.execute(f"LISTEN {OUTBOX_CHANNEL}")
                deliverer = Deliverer(conn, senders, retry)
                while not stop.is_set():
                    deliverer.deliver_due()
                    deliverer.pending()
                    # Wake on the next NOTIFY, or after a second for retries that fall due.
                    for _ in listen.notifies(timeout=1.0, stop_after=1):
                        pass
        except (DependencyError, psycopg.OperationalError, psycopg.InterfaceError) as exc:
            stop.wait(_lost(database, url, exc, backoff))
        except psycopg.Error:
            log.exception("outbox worker failed; reconnecting")
            stop.wait(backoff.failed())


@dataclass(frozen=True)
class Group:
    """An evaluation group: its own thread, connection and lock (see Evaluator.group)."""

    index: int
    name: str
    accepts: Callable[[Rule], bool]
    retire: bool


def groups(settings: Settings) -> list[Group]:
    """`fast`: rules evaluated every cycle (power, pollutant, anything without `every`);
    `slow`: rules with an `every` longer than the cycle (rolling sums, budgets, data quality),
    which must not delay the fast ones."""
    interval = timedelta(seconds=settings.alerting.interval_s)

    def slow(rule: Rule) -> bool:
        return rule.every is not None and rule.every > interval

    return [Group(0, "fast", lambda r: not slow(r), True), Group(1, "slow", slow, False)]


def evaluate_loop(
    settings: Settings,
    rules: RuleSource,
    group: Group,
    stop: threading.Event,
    database: Dependency,
    registries: SharedRegistry,
    receive: events.Receive = events.receive,
) -> None:
    """Run one group's evaluations until `stop` (services/alerting/events.py says which run
    when); `receive` collects notifications (a test replaces it to lose them)."""
    url = settings.database.url
    a = settings.alerting
    backoff = Backoff(1.0, 30.0)
    while not stop.is_set():
        try:
            with contextlib.ExitStack() as connections:
                conn = connections.enter_context(connect_database(url, autocommit=True))
                listener = (
                    connections.enter_context(connect_database(url, autocommit=True))
                    if a.events
                    else None
                )
                database.up()
                backoff.reset()
                evaluator = Evaluator(
                    conn,
                    rules,
                    group=group.accepts,
                    group_name=group.name,
                    retire=group.retire,
                    registries=registries,
                )
                while not stop.is_set() and not try_lock(conn, group.index):
                    log.info("another %s evaluator holds the lock; standing by", group.name)
                    stop.wait(a.interval_s)
                if listener is not None:
                    events.listen(listener)  # before the first sweep: nothing falls between
                    log.info(
                        "%s group: evaluating what changes, time conditions every %.1f s,"
                        " a sweep every %.0f s",
                        group.name,
                        a.interval_s,
                        a.sweep_s,
                    )
                else:
                    log.info("%s group: evaluating every %.1f s", group.name, a.interval_s)
                if listener is None:
                    _evaluate(evaluator, listener, group.name, a, stop, receive)
                else:  # changes made while no group listened: the snapshot may predate them
                    with registries.listening():
                        _evaluate(evaluator, listener, group.name, a, stop, receive)
        except (DependencyError, psycopg.OperationalError, psycopg.InterfaceError) as exc:
            stop.wait(_lost(database, url, exc, backoff))
        except psycopg.Error:
            log.exception("%s evaluation failed; reconnecting", group.name)
            stop.wait(backoff.failed())


def _evaluate(
    evaluator: Evaluator,
    listener: psycopg.Connection | None,
    group: str,
    a: AlertingSettings,
    stop: threading.Event,
    receive: events.Receive,
) -> None:
    schedule = events.Schedule(a.interval_s, a.sweep_s, a.events, time.monotonic())
    changes = events.Changes()
    while not stop.is_set():
        if changes.registry:
            evaluator.invalidate_registry()
            changes.registry = False
        run = schedule.due(time.monotonic(), bool(changes))
        if run is None:
            wait = min(schedule.wait_s(time.monotonic()), 1.0)  # 1 s: notice `stop`
            if listener is not None:
                receive(listener, changes, wait)
            else:
                stop.wait(wait)
            continue
        scope: events.Scope | None = None
        if run == "sweep":
            changes.take()  # what they name, the sweep reads anyway
        elif run == "tick":
            scope = events.Tick()
        else:
            scope = changes.take()
            metrics.CHANGED_POINTS.labels(group).inc(len(scope))
        report = evaluator.cycle(scope=scope)
        if run == "sweep" or report.subjects >= LARGE_RUN_SUBJECTS:
            heap.release_free_memory()  # a large run's subjects and readings are transient
        metrics.EVALUATIONS.labels(group, run).inc()
        metrics.RUN_SECONDS.labels(group, run).inc(report.seconds)
        metrics.READ_SECONDS.labels(group, run).inc(report.measure_seconds)
        if report.transitions:
            log.info(
                "%s %s %.3f s, %d subjects, transitions %s",
                group,
                run,
                report.seconds,
                report.subjects,
                report.transitions,
            )


def run(settings: Settings, once: bool = False) -> None:
    heap.tune_malloc()
    require_secrets(settings, "alerting.webhook_secret")
    url = settings.database.url
    rules = rule_source(settings)
    rules.file_rules()  # a bad rules file stops the start, naming file and field
    if once:
        a = settings.alerting
        with connect_database(url, autocommit=True) as conn:
            report = Evaluator(conn, rules).cycle()
            log.info("cycle: %s", report)
            Deliverer(
                conn, make_senders(settings), RetryPolicy(a.retry_max_attempts, a.retry_base_s)
            ).deliver_due()
        return
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    if settings.alerting.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.alerting.metrics_port)
    database = Dependency("database", log)
    outbox = threading.Thread(
        target=_deliver_loop, args=(settings, stop, database), name="outbox", daemon=True
    )
    outbox.start()
    # Told of registry changes, the groups reload on them; the period is a backstop.
    registries = SharedRegistry(REGISTRY_BACKSTOP_S if settings.alerting.events else 30.0)
    # The groups are threads of this process, not processes: one interpreter, one copy of the
    # compiled kernels and of the registry. The slow group's Python work shares the GIL with
    # the fast group's; its database reads and kernels release it (docs/alerting.md).
    fast, *others = groups(settings)
    threads = [
        threading.Thread(
            target=evaluate_loop,
            args=(settings, rules, g, stop, database, registries),
            name=f"alerting-{g.name}",
            daemon=True,
        )
        for g in others
    ]
    for thread in threads:
        thread.start()
    try:
        evaluate_loop(settings, rules, fast, stop, database, registries)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        outbox.join(timeout=10)
