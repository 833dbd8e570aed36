"""The demo region (region.yaml): the registry to import and the edge agents that feed it."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REGION_FILE = Path(__file__).with_name("region.yaml")
DEMO_ONLY_KEYS = ("sim", "hj212")


@dataclass(frozen=True)
class SimulatedPoint:
    code: str
    profile: str
    scale: float
    rollover: float | None
    hj212_code: str | None  # pollutant code on an HJ 212 data logger


@dataclass(frozen=True)
class SimulatedDevice:
    site: str
    code: str
    protocol: str  # "simulator": the edge agent simulates meters; "hj212": a data logger
    points: tuple[SimulatedPoint, ...]
    mn: str | None = None  # HJ 212 data logger's MN
    st: int | None = None  # HJ 212 system code: 22 ambient air, 31 flue gas


@dataclass(frozen=True)
class Region:
    document: dict[str, Any]  # region.yaml as read

    def registry_document(self) -> dict[str, Any]:
        """The registry file: region.yaml without the blocks only the demo reads."""
        doc = copy.deepcopy(self.document)
        for site in doc["sites"]:
            for device in site.get("devices", []):
                for key in DEMO_ONLY_KEYS:
                    device.pop(key, None)
                for point in device.get("points", []):
                    for key in DEMO_ONLY_KEYS:
                        point.pop(key, None)
        return doc

    def devices(self) -> list[SimulatedDevice]:
        out = []
        for site in self.document["sites"]:
            for device in site.get("devices", []):
                points = tuple(
                    SimulatedPoint(
                        code=p["code"],
                        profile=p["sim"]["profile"],
                        scale=float(p["sim"].get("scale", 1.0)),
                        rollover=p["sim"].get("rollover"),
                        hj212_code=p["sim"].get("hj212_code"),
                    )
                    for p in device["points"]
                )
                hj = device.get("hj212") or {}
                out.append(
                    SimulatedDevice(
                        site["code"],
                        device["code"],
                        device["protocol"],
                        points,
                        hj.get("mn"),
                        hj.get("st"),
                    )
                )
        return out

    def enterprises(self) -> list[dict[str, Any]]:
        return [s for s in self.document["sites"] if s["kind"] == "enterprise"]


def load_region(path: Path = REGION_FILE) -> Region:
    return Region(yaml.safe_load(path.read_text(encoding="utf-8")))


def write_registry(region: Region, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(region.registry_document(), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return path


def edge_config(
    device: SimulatedDevice,
    *,
    mqtt_host: str,
    mqtt_port: int,
    topic_prefix: str,
    queue_dir: Path,
    interval_s: float,
    seed: int,
) -> dict[str, Any]:
    """The edge agent's YAML config (edge/config.py) for one simulated device."""
    if device.protocol == "hj212":
        driver: dict[str, Any] = {
            "kind": "hj212",
            "name": "hj212",
            "listen_host": "127.0.0.1",
            "listen_port": 0,  # any free port; the fleet reads the bound port from the driver
            "loggers": [
                {
                    "mn": device.mn,
                    "points": [
                        {"point": p.code, "code": p.hj212_code, "cn": 2011} for p in device.points
                    ],
                }
            ],
        }
    else:
        driver = {
            "kind": "simulator",
            "name": "simulator",
            "seed": seed,
            "points": [
                {
                    "point": p.code,
                    "profile": p.profile,
                    "scale": p.scale,
                    "interval_s": interval_s,
                    **({"rollover": p.rollover} if p.rollover else {}),
                }
                for p in device.points
            ],
        }
    return {
        "site": device.site,
        "device": device.code,
        "mqtt": {
            "host": mqtt_host,
            "port": mqtt_port,
            "topic_prefix": topic_prefix,
        },
        "queue": {
            "path": str(queue_dir / f"{device.site}-{device.code}.sqlite"),
            "synchronous": "normal",
        },
        "publish": {"batch_max_readings": 500, "status_interval_s": 30},
        "drivers": [driver],
    }
