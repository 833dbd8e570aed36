"""The edge installs and runs without the server: no server imports, small memory."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from services.demo.broker import free_port
from tests.integration.edge.support import collecting, edge_config, write_yaml
from tests.support.services import BrokerAddress

REPO = Path(__file__).resolve().parents[3]
SERVER_ONLY = (
    "numba",
    "numpy",
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "pandas",
    "llvmlite",
)
RSS_LIMIT_MB = 80


def test_agent_imports_nothing_from_the_server_side() -> None:
    code = (
        "import json, sys\n"
        "import edge.command, edge.agent, edge.sim\n"
        "import edge.drivers.simulator, edge.drivers.modbus\n"
        "import edge.drivers.dlt645, edge.drivers.hj212\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    modules = json.loads(out.stdout)
    assert "edge.drivers.modbus" in modules
    loaded = sorted(m for m in modules if m.split(".")[0] in SERVER_ONLY)
    assert loaded == [], f"the edge agent pulled in server packages: {loaded}"


def mixed_drivers(closed_port: int) -> list[dict[str, object]]:
    """200 points over every driver; the field devices are absent (connection refused)."""
    sim: dict[str, object] = {
        "kind": "simulator",
        "points": [
            {"point": f"S{i:03d}", "profile": "electricity_kwh", "interval_s": 0.2}
            for i in range(150)
        ],
    }
    modbus = {
        "kind": "modbus",
        "host": "127.0.0.1",
        "port": closed_port,
        "points": [
            {"point": f"M{i:02d}", "address": 2 * i, "type": "float32", "interval_s": 1}
            for i in range(20)
        ],
    }
    dlt = {
        "kind": "dlt645",
        "host": "127.0.0.1",
        "port": closed_port,
        "meters": [
            {
                "address": f"{i:012d}",
                "points": [{"point": f"D{i:02d}", "identifier": "00010000", "interval_s": 1}],
            }
            for i in range(20)
        ],
    }
    hj = {
        "kind": "hj212",
        "listen_host": "127.0.0.1",
        "listen_port": 0,
        "loggers": [
            {
                "mn": "88888880000001",
                "points": [{"point": f"H{i:02d}", "code": f"a{i:05d}"} for i in range(10)],
            }
        ],
    }
    return [sim, modbus, dlt, hj]


def test_agent_with_200_points_stays_under_80_mb(
    tmp_path: Path, mqtt_broker: BrokerAddress, topic_prefix: str
) -> None:
    config = edge_config(
        tmp_path, mqtt_broker.host, mqtt_broker.port, topic_prefix, mixed_drivers(free_port())
    )
    path = write_yaml(tmp_path / "edge.yaml", config)
    with collecting(mqtt_broker.host, mqtt_broker.port, topic_prefix) as col:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge", str(path)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            col.wait_for(lambda: len(col.readings()) >= 150 * 10)
            time.sleep(1.0)
            status = Path(f"/proc/{proc.pid}/status").read_text()
        finally:
            proc.terminate()
            proc.wait(30)
    peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    print(f"edge agent peak RSS with 200 points: {peak_kb / 1024:.1f} MB")
    assert peak_kb / 1024 <= RSS_LIMIT_MB, f"peak RSS {peak_kb / 1024:.1f} MB"
