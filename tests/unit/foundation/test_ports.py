"""Every process listens on a port of its own, by default and in the demo."""

from __future__ import annotations

from pathlib import Path

import yaml

from energywatch.settings import Settings, load_settings
from services.demo.broker import Broker
from services.demo.command import child_settings
from services.demo.postgres import Database

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def listening_ports(settings: Settings) -> dict[str, int | None]:
    """The ports the server processes bind: the API, and each service's metrics endpoint."""
    return {
        "api.port": settings.api.port,
        "api.metrics_port": settings.api.metrics_port,
        "ingest.metrics_port": settings.ingest.metrics_port,
        "rollup.metrics_port": settings.rollup.metrics_port,
        "alerting.metrics_port": settings.alerting.metrics_port,
    }


def test_every_port_setting_is_listed() -> None:
    # A new `*port` setting of a listening process must join the list above.
    names = {
        f"{section}.{field}"
        for section, model in Settings.model_fields.items()
        if model.annotation is not None and hasattr(model.annotation, "model_fields")
        for field in model.annotation.model_fields
        if field.endswith("port")
    }
    clients = {"mqtt.port", "alerting.smtp_port"}  # ports the services connect to
    assert names - clients == set(listening_ports(Settings(demo=True)))


def test_default_ports_are_distinct() -> None:
    ports = listening_ports(load_settings(demo=True))
    assert None not in ports.values()
    assert len(set(ports.values())) == len(ports), ports


def test_prometheus_scrapes_each_default_metrics_port() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    scraped = {
        int(target.rsplit(":", 1)[1])
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    ports = listening_ports(load_settings(demo=True))
    # Every metrics port; the API's public port has no /metrics.
    assert {port for name, port in ports.items() if name != "api.port"} <= scraped
    assert ports["api.port"] not in scraped


def test_demo_gives_each_process_its_own_port(tmp_path: Path) -> None:
    settings = load_settings(demo=True)
    child = child_settings(
        settings,
        Database("postgresql://postgres@127.0.0.1:5432/demo", "configured"),
        Broker("127.0.0.1", 1883, "configured"),
        8000,
        tmp_path,
    )
    ports = listening_ports(child)
    assert len(set(ports.values())) == len(ports), ports
