"""The demo's parts: the region against the real registry validator and edge config model,
the simulated HJ 212 data logger against the real edge driver, the settings hand-over."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import SecretStr

from benchmarks.support.network import wait_listening
from edge.config import EdgeConfig, Hj212DriverConfig
from edge.drivers.hj212 import Hj212Driver
from edge.metrics import EdgeMetrics
from edge.readings import EdgeReading
from edge.sim import PROFILES, SimPoint
from energywatch.reference.codes import credit_code_problem
from energywatch.settings import (
    DatabaseSettings,
    IngestSettings,
    MqttSettings,
    Settings,
    load_settings,
)
from energywatch.storage.registry_files import parse_registry_file
from services.demo.breach import Breach
from services.demo.broker import free_port
from services.demo.command import alert_lines, settings_env
from services.demo.hj212_logger import LoggerPoint, SimulatedLogger
from services.demo.region import edge_config, load_region, write_registry
from tests.support.processes import process_tree

CST = timezone(timedelta(hours=8))


def test_region_is_a_valid_registry_of_taiyuan(tmp_path: Path) -> None:
    region = load_region()
    parsed = parse_registry_file(write_registry(region, tmp_path / "registry.yaml"))
    sites = {s.code: s for s in parsed.sites}
    enterprises = [s for s in sites.values() if s.kind == "enterprise"]
    assert len(enterprises) == 20
    assert {"coke", "steel", "coal_power", "cement", "aluminium", "data_centre"} <= {
        s.industry for s in enterprises
    }
    assert all(s.division_code.startswith("1401") for s in sites.values())
    for s in enterprises:
        assert s.credit_code is not None and credit_code_problem(s.credit_code) is None
        assert s.credit_code[2:8] == s.division_code  # registered where they are
    ambient = [s for s in sites.values() if s.station_kind == "ambient_ghg"]
    assert len(ambient) == 2
    for s in ambient:
        assert {p.measure for d in s.devices for p in d.points} == {
            "co2_ambient",
            "ch4_ambient",
            "co_ambient",
        }
    stack = sites["TY-CEMS-01"]
    assert {"so2", "nox", "particulates"} <= {p.measure for d in stack.devices for p in d.points}
    assert all(d.protocol == "hj212" for s in [*ambient, stack] for d in s.devices)


def test_region_simulation_matches_the_registry() -> None:
    region = load_region()
    registry = {
        (site["code"], p["code"]): p
        for site in region.registry_document()["sites"]
        for d in site["devices"]
        for p in d["points"]
    }
    devices = region.devices()
    assert len(devices) == 23
    for device in devices:
        for p in device.points:
            assert p.profile in PROFILES
            point = registry[(device.site, p.code)]
            # The rollup must know where the simulated register wraps.
            assert point.get("rollover") == p.rollover, (device.site, p.code)
            assert (point["kind"] == "cumulative") == PROFILES[p.profile].cumulative
            if device.protocol == "hj212":
                assert p.hj212_code is not None and p.hj212_code[0] == "a"
        config = EdgeConfig.model_validate(
            edge_config(
                device,
                mqtt_host="127.0.0.1",
                mqtt_port=1883,
                topic_prefix="ew/v1",
                queue_dir=Path("/tmp"),
                interval_s=10,
                seed=1,
            )
        )
        assert sorted(config.all_point_codes()) == sorted(p.code for p in device.points)
    for site in region.registry_document()["sites"]:
        for d in site["devices"]:
            assert "hj212" not in d
            assert all("sim" not in p for p in d["points"])


def test_simulated_logger_feeds_the_real_hj212_driver_and_the_breach_shows() -> None:
    got: list[EdgeReading] = []

    def sink(driver: str, readings: Sequence[EdgeReading]) -> None:
        got.extend(readings)

    async def scenario() -> SimulatedLogger:
        config = Hj212DriverConfig.model_validate(
            {
                "kind": "hj212",
                "listen_host": "127.0.0.1",
                "listen_port": 0,
                "loggers": [
                    {
                        "mn": "14018100CEMS01",
                        "password": "123456",
                        "points": [
                            {"point": "SO2", "code": "a21026"},
                            {"point": "NOX", "code": "a21002"},
                        ],
                    }
                ],
            }
        )
        driver = Hj212Driver(config, sink, EdgeMetrics(), CST)
        server = asyncio.create_task(driver.run())
        await asyncio.wait_for(driver.listening.wait(), 5)
        assert driver.port is not None
        breach = Breach(site="TY-CEMS-01", point="SO2", start_s=0.0, duration_s=60, value=1200.0)
        logger = SimulatedLogger(
            "14018100CEMS01",
            31,
            [
                LoggerPoint("SO2", "a21026", SimPoint("SO2", "so2_mg_m3")),
                LoggerPoint("NOX", "a21002", SimPoint("NOX", "nox_mg_m3")),
            ],
            CST,
            interval_s=0.2,
            seed=1,
            override=breach.override(datetime.now(UTC) - timedelta(seconds=1)),
        )
        task = asyncio.create_task(logger.run("127.0.0.1", driver.port))
        while logger.sent < 3:
            await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0.2)
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)
        return logger

    logger = asyncio.run(scenario())
    assert logger.sent >= 3
    so2 = [r.value for r in got if r.point == "SO2"]
    nox = [r.value for r in got if r.point == "NOX"]
    assert so2 and all(v == 1200.0 for v in so2)  # the breach overrides the analyser
    assert nox and all(0 < v < 100 for v in nox)  # NOx stays at its simulated level
    assert all(r.quality == 0 for r in got)


def test_children_get_the_same_settings_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parent = Settings(
        demo=True,
        database=DatabaseSettings(url="postgresql://u:p@db.example:5433/ew"),
        mqtt=MqttSettings(
            host="broker", port=1884, password=SecretStr("s3cret"), topic_prefix="x/y"
        ),
        ingest=IngestSettings(share_group="", metrics_port=19101),
    )
    for key in [k for k in os.environ if k.startswith("ENERGYWATCH_")]:
        monkeypatch.delenv(key)
    for key, value in settings_env(parent).items():
        monkeypatch.setenv(key, value)
    child = load_settings()
    assert child.model_dump() == parent.model_dump()
    assert child.mqtt.password is not None
    assert child.mqtt.password.get_secret_value() == "s3cret"


def test_alert_lines_group_a_rule_that_fired_for_many_subjects() -> None:
    fired: list[tuple[str, str, str, float | None]] = [
        ("quality.silent", f"point:S/P{i}", "warning", None) for i in range(10)
    ]
    fired.append(("demo.so2_stack_trip", "point:TY-CEMS-01/SO2", "critical", 812.5))
    assert alert_lines(fired) == [
        "ALERT warning: quality.silent on 10 subjects",
        "ALERT critical: demo.so2_stack_trip on point:TY-CEMS-01/SO2 (value 812.5)",
    ]


def test_embedded_postgres_keeps_its_data_for_the_next_run(tmp_path: Path) -> None:
    pytest.importorskip("pgserver")
    import psycopg

    from services.demo.postgres import demo_database

    nothing_there = f"postgresql://postgres@127.0.0.1:{free_port()}/energywatch"
    with demo_database(nothing_there, tmp_path) as db:
        assert db.kind == "embedded"
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v int)")
            conn.execute("INSERT INTO kept VALUES (42)")
    assert (tmp_path / "postgres" / "PG_VERSION").is_file()
    with demo_database(nothing_there, tmp_path) as db, psycopg.connect(db.url) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [(42,)]


def test_local_mosquitto_is_started_when_no_broker_answers(tmp_path: Path) -> None:
    from services.demo.broker import demo_broker, port_answers, speaks_mqtt5

    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.skip("mosquitto is not installed")
    port = free_port()
    with demo_broker("127.0.0.1", port, tmp_path) as broker:
        assert (broker.kind, broker.port) == ("mosquitto", port)
        assert broker.shared_subscriptions
        assert speaks_mqtt5(broker.host, broker.port)
    assert not port_answers("127.0.0.1", port)


def test_the_mqtt5_check_refuses_a_broker_that_speaks_only_311(tmp_path: Path) -> None:
    pytest.importorskip("amqtt")
    import subprocess
    import sys

    from services.demo.broker import speaks_mqtt5

    port = free_port()
    with process_tree(
        [sys.executable, "-m", "services.demo.embedded_broker", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as proc:
        wait_listening(proc, port, what="amqtt", timeout=15)
        assert not speaks_mqtt5("127.0.0.1", port)
