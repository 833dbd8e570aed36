"""`energywatch demo`: the whole system on one machine, fed by a simulated region.

PostgreSQL and MQTT are the configured ones when they answer, else embedded ones started for
the demo (see postgres.py, broker.py). Ingest, rollup, alerting and the API run as child
processes, exactly the commands production runs; the simulated edge agents of the region run
in one more process (fleet.py). Ctrl-C (or `duration_s`) stops them in order: edge agents
first, ingest last, so that what was published is stored.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
import yaml

from energywatch.errors import EnergyWatchError, InputError, SettingsError
from energywatch.settings import Settings
from energywatch.storage.engine import libpq_url, make_engine
from services.demo.breach import Breach
from services.demo.broker import (
    Broker,
    demo_broker,
    free_port,
    free_ports,
    port_answers,
    speaks_mqtt5,
)
from services.demo.fleet import FleetSpec
from services.demo.history import backfill, has_readings
from services.demo.postgres import Database, demo_database
from services.demo.processes import ENERGYWATCH, ServiceProcess, wait_until
from services.demo.region import Region, edge_config, load_region, write_registry
from services.demo.rules import write_demo_rules

log = logging.getLogger("demo")

READ_INTERVAL_S = 10.0
# Simulated history written on the first run: a whole day of rollups besides the first
# quarter-hour (a register's first reading has no previous one to difference), so that the
# budget has the one day of data it needs to project from (docs/computation.md, "Budget").
HISTORY_HOURS = 25.0
SEED = 2026
OPERATOR = ("operator", "demo-operator", "operator", "TY-POWER-01")
REGULATOR = ("regulator", "demo-regulator", "regulator", "1401")
# Start order; they stop in the reverse order.
SERVICES = ("ingest", "rollup", "alerting", "api")


@dataclass(frozen=True)
class Progress:
    readings: int
    alerts_fired: list[tuple[str, str, str, float | None]]  # rule, subject, severity, value


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as ENERGYWATCH_* variables, so that child processes see the same ones."""
    env: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}__{key.upper()}" if prefix else key.upper(), item)
        elif isinstance(value, list | tuple):
            env[f"ENERGYWATCH_{prefix}"] = json.dumps(value, default=str)  # complex: JSON
        elif value is not None:
            if isinstance(value, bool):
                value = "true" if value else "false"
            env[f"ENERGYWATCH_{prefix}"] = str(value)

    dumped = settings.model_dump(mode="python")
    for section, fields in dumped.items():
        walk(section.upper(), _reveal(fields))
    return env


def _reveal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reveal(v) for k, v in value.items()}
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    return value


def _free_or(port: int) -> int:
    return port if not port_answers("127.0.0.1", port) else free_port()


def prepare_database(settings: Settings, db: Database, region: Region, data_dir: Path) -> None:
    from energywatch.storage.migrate import upgrade
    from energywatch.storage.registry import import_registry_file

    upgrade(
        db.url,
        use_timescaledb=settings.database.use_timescaledb,
        compress_after_days=settings.database.compress_after_days,
        compress_rollups_after_days=settings.database.compress_rollups_after_days,
        retain_days=settings.database.retain_days,
        hourly_refresh_days=settings.database.hourly_refresh_days,
    )
    engine = make_engine(db.url, pool_size=1)
    try:
        summary = import_registry_file(engine, write_registry(region, data_dir / "registry.yaml"))
    finally:
        engine.dispose()
    print(f"  registry: {summary}", flush=True)


def ensure_users(child_settings: Settings) -> None:
    from services.api.users import add_user

    for username, password, role, scope in (OPERATOR, REGULATOR):
        try:
            add_user(child_settings, username, password, role, scope)
        except InputError as exc:
            if "exists" not in str(exc):
                raise


def last_register_values(url: str) -> dict[str, float]:
    """The newest stored value of every cumulative point, keyed "SITE/POINT"."""
    query = """
        SELECT s.code || '/' || p.code, r.value
        FROM points p JOIN sites s ON s.id = p.site_id
        CROSS JOIN LATERAL (
            SELECT value FROM readings WHERE point_id = p.id ORDER BY ts DESC LIMIT 1
        ) r
        WHERE p.kind = 'cumulative'
    """
    with psycopg.connect(libpq_url(url)) as conn:
        return {key: float(value) for key, value in conn.execute(query)}


def fleet_spec(
    region: Region,
    broker: Broker,
    settings: Settings,
    data_dir: Path,
    registers: dict[str, float],
    breach: Breach,
) -> FleetSpec:
    config_dir = data_dir / "edge"
    config_dir.mkdir(parents=True, exist_ok=True)
    configs, loggers = [], []
    for device in region.devices():
        config = edge_config(
            device,
            mqtt_host=broker.host,
            mqtt_port=broker.port,
            topic_prefix=settings.mqtt.topic_prefix,
            queue_dir=config_dir,
            interval_s=READ_INTERVAL_S,
            seed=SEED,
        )
        path = config_dir / f"{device.site}-{device.code}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        configs.append(str(path))
        if device.protocol == "hj212":
            loggers.append(
                {
                    "site": device.site,
                    "device": device.code,
                    "mn": device.mn,
                    "st": device.st,
                    "points": [
                        {
                            "point": p.code,
                            "code": p.hj212_code,
                            "profile": p.profile,
                            "scale": p.scale,
                        }
                        for p in device.points
                    ],
                }
            )
    return FleetSpec(
        configs=configs,
        loggers=loggers,
        interval_s=READ_INTERVAL_S,
        seed=SEED,
        breach=breach.__dict__,
        registers=registers,
    )


def progress(url: str, since: datetime) -> Progress:
    with psycopg.connect(libpq_url(url), connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM readings WHERE ts >= %s", (since,)).fetchone()
        readings = int(row[0]) if row else 0
        try:
            fired = conn.execute(
                "SELECT rule, subject, severity, value FROM alerts "
                "WHERE fired_at >= %s ORDER BY fired_at",
                (since,),
            ).fetchall()
        except psycopg.errors.UndefinedTable:
            fired = []
    return Progress(readings, [(str(r), str(s), str(v), x) for r, s, v, x in fired])


class _StopSignal:
    """SIGINT/SIGTERM set an event instead of raising, so shutdown runs in order."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> threading.Event:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self.event

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.event.set()

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _banner(
    api_port: int, db: Database, broker: Broker, region: Region, breach: Breach, data_dir: Path
) -> str:
    n_points = sum(len(d.points) for d in region.devices())
    stations = len(region.document["sites"]) - len(region.enterprises())
    return "\n".join(
        [
            "",
            "EnergyWatch demo is running.",
            f"  Dashboard:  http://127.0.0.1:{api_port}/",
            f"  Logins:     {OPERATOR[0]} / {OPERATOR[1]}    (operator of {OPERATOR[3]})",
            f"              {REGULATOR[0]} / {REGULATOR[1]}  (regulator of Taiyuan, divisions "
            f"{REGULATOR[3]}xx)",
            f"  Region:     {len(region.enterprises())} enterprises and {stations} monitoring "
            f"stations in Taiyuan, {n_points} points, read every {READ_INTERVAL_S:.0f} s",
            f"  Breach:     {breach.site} {breach.point} jumps to {breach.value:.0f} mg/m3 "
            f"{breach.start_s:.0f} s after start, for {breach.duration_s / 60:.0f} min",
            f"  PostgreSQL: {db.kind}; MQTT: {broker.host}:{broker.port} ({broker.kind})",
            f"  Data and logs: {data_dir}",
            "Ctrl-C stops everything.",
            "",
        ]
    )


def child_settings(
    settings: Settings, db: Database, broker: Broker, api_port: int, data_dir: Path
) -> Settings:
    """The services' settings: the demo's database and broker, free ports for the API and
    the metrics endpoints (another instance may hold the defaults), the demo rules."""
    ingest_port, rollup_port, alerting_port = free_ports(3)
    return settings.model_copy(
        update={
            "demo": True,
            "database": settings.database.model_copy(update={"url": db.url}),
            "mqtt": settings.mqtt.model_copy(update={"host": broker.host, "port": broker.port}),
            "api": settings.api.model_copy(
                update={"host": "127.0.0.1", "port": api_port, "metrics_port": free_port()}
            ),
            "ingest": settings.ingest.model_copy(
                update={
                    "metrics_port": ingest_port,
                    # Without shared subscriptions a plain one: the demo runs one worker.
                    "share_group": settings.ingest.share_group
                    if broker.shared_subscriptions
                    else "",
                }
            ),
            "rollup": settings.rollup.model_copy(update={"metrics_port": rollup_port}),
            "alerting": settings.alerting.model_copy(
                update={
                    "metrics_port": alerting_port,
                    "rules_dir": data_dir / "rules",
                }
            ),
        }
    )


def run(settings: Settings, data_dir: Path, duration_s: float | None = None) -> None:
    # The demo speaks to a person: the services' own logs go to files in data_dir/logs.
    for noisy in ("alembic", "pgserver", "demo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    region = load_region()
    breach = Breach(start_s=5.0, duration_s=240.0, value=1200.0)
    with contextlib.ExitStack() as stack:
        stop = stack.enter_context(_StopSignal())
        db = stack.enter_context(demo_database(settings.database.url, data_dir))
        broker = stack.enter_context(demo_broker(settings.mqtt.host, settings.mqtt.port, data_dir))
        if not speaks_mqtt5(broker.host, broker.port):
            raise SettingsError(
                f"the MQTT broker at {broker.host}:{broker.port} ({broker.kind}) does not speak "
                "MQTT 5, which ingest needs; install Mosquitto 2 (e.g. apt-get install "
                "mosquitto) or point ENERGYWATCH_MQTT__HOST/PORT at an MQTT 5 broker"
            )
        child = child_settings(settings, db, broker, _free_or(settings.api.port), data_dir)
        api_port = child.api.port
        print(f"Preparing the database ({db.kind}) and the region ...", flush=True)
        prepare_database(child, db, region, data_dir)
        ensure_users(child)
        write_demo_rules(data_dir / "rules")
        if not has_readings(db.url):
            print(f"Simulating the last {HISTORY_HOURS:.0f} hours of history ...", flush=True)
            n = backfill(db.url, region, HISTORY_HOURS, timedelta(minutes=1), SEED)
            print(f"  {n} readings of history written", flush=True)
        spec = fleet_spec(region, broker, child, data_dir, last_register_values(db.url), breach)
        spec.write(data_dir / "edge" / "fleet.json")
        if stop.is_set():
            print("Stopped before the services started.", flush=True)
            return

        env = settings_env(child)
        logs = data_dir / "logs"
        missing = [n for n in SERVICES if importlib.util.find_spec(f"services.{n}.command") is None]
        for name in missing:
            print(f"warning: the {name} service is not installed; running without it", flush=True)
        if "rollup" not in missing:
            # Roll up what is waiting (the history, or readings from the previous run) before
            # alerting starts, so that its first cycle judges complete 15-minute data.
            print("Computing the 15-minute rollups ...", flush=True)
            catch_up = ServiceProcess(
                "rollup-once", [*ENERGYWATCH, "rollup", "--once"], env, logs / "rollup.log"
            )
            catch_up.start()
            if catch_up.wait(timeout_s=300) != 0:
                raise EnergyWatchError("the rollup failed; last lines:\n" + catch_up.tail())
        processes = [
            ServiceProcess(name, [*ENERGYWATCH, name], env, logs / f"{name}.log")
            for name in SERVICES
            if name not in missing
        ]
        processes.append(
            ServiceProcess(
                "edge",
                [
                    ENERGYWATCH[0],
                    "-m",
                    "services.demo.fleet",
                    str(data_dir / "edge" / "fleet.json"),
                ],
                env,
                logs / "edge.log",
            )
        )
        for p in processes:
            stack.callback(p.stop)  # ExitStack unwinds in reverse: edge first, ingest last
        started = datetime.now(UTC) - timedelta(seconds=5)
        for p in processes[:-1]:
            p.start()
        if not wait_until(
            lambda: (
                port_answers("127.0.0.1", api_port)
                or any(p.exit_code is not None for p in processes[:-1])
            ),
            60,
        ):
            raise EnergyWatchError("the API did not start within 60 s; see " + str(logs))
        processes[-1].start()
        _check_alive(processes)
        print(_banner(api_port, db, broker, region, breach, data_dir), flush=True)
        _watch(processes, db.url, started, stop, duration_s)
        print("Stopping ...", flush=True)
    print("EnergyWatch demo stopped.", flush=True)


def _check_alive(processes: list[ServiceProcess]) -> None:
    for p in processes:
        if p.exit_code is not None:
            raise EnergyWatchError(
                f"{p.name} exited with code {p.exit_code}; last lines of {p.log_path}:\n" + p.tail()
            )


def _watch(
    processes: list[ServiceProcess],
    url: str,
    started: datetime,
    stop: threading.Event,
    duration_s: float | None,
) -> None:
    """Report readings and alerts as they come, until Ctrl-C or the duration is over."""
    t0 = time.monotonic()
    deadline = None if duration_s is None else t0 + duration_s
    shown_alerts = 0
    next_readings_report = t0
    while not stop.wait(2.0):
        _check_alive(processes)
        try:
            now = progress(url, started)
        except psycopg.Error as exc:
            log.warning("progress query failed: %s", exc)
            continue
        elapsed = time.monotonic() - t0
        if time.monotonic() >= next_readings_report and now.readings:
            print(f"  [+{elapsed:3.0f} s] readings stored since start: {now.readings}", flush=True)
            next_readings_report = time.monotonic() + 30
        for line in alert_lines(now.alerts_fired[shown_alerts:]):
            print(f"  [+{elapsed:3.0f} s] {line}", flush=True)
        shown_alerts = len(now.alerts_fired)
        if deadline is not None and time.monotonic() >= deadline:
            break


def alert_lines(fired: list[tuple[str, str, str, float | None]], detail: int = 3) -> list[str]:
    """One line per new alert, or one line per rule when a rule fired for many subjects."""
    by_rule: dict[str, list[tuple[str, str, str, float | None]]] = {}
    for alert in fired:
        by_rule.setdefault(alert[0], []).append(alert)
    lines = []
    for rule, alerts in by_rule.items():
        if len(alerts) > detail:
            lines.append(f"ALERT {alerts[0][2]}: {rule} on {len(alerts)} subjects")
            continue
        for _, subject, severity, value in alerts:
            shown = f" (value {value:.1f})" if value is not None else ""
            lines.append(f"ALERT {severity}: {rule} on {subject}{shown}")
    return lines
