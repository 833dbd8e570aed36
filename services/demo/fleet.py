"""`python -m services.demo.fleet SPEC.json`: every simulated edge agent of the demo region
(and the stations' HJ 212 data loggers, and the scripted breach) in one process.

One process instead of one per site keeps the demo light on a small machine; each agent is
still the real EdgeAgent with its own durable queue and MQTT connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.agent import EdgeAgent
from edge.config import load_config, parse_offset
from edge.drivers.hj212 import Hj212Driver
from edge.drivers.simulator import SimulatorDriver
from edge.sim import SimPoint
from energywatch import logs
from services.demo.breach import Breach
from services.demo.hj212_logger import LoggerPoint, SimulatedLogger

log = logging.getLogger("demo.fleet")


@dataclass
class FleetSpec:
    configs: list[str]
    loggers: list[dict[str, Any]] = field(default_factory=list)
    interval_s: float = 10.0
    seed: int = 1
    utc_offset: str = "+08:00"
    breach: dict[str, Any] | None = None
    registers: dict[str, float] = field(default_factory=dict)  # "SITE/POINT" -> last value

    @classmethod
    def read(cls, path: Path) -> FleetSpec:
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=1), encoding="utf-8")


def restore_registers(agent: EdgeAgent, registers: dict[str, float]) -> int:
    """Continue cumulative registers from the values already stored, so that a second demo
    run does not look like every meter jumped."""
    restored = 0
    for driver in agent.drivers:
        if not isinstance(driver, SimulatorDriver):
            continue
        for code, sim in driver.sims.items():
            value = registers.get(f"{agent.config.site}/{code}")
            if value is not None and sim.profile.cumulative:
                sim.register = value
                restored += 1
    return restored


async def _run(spec: FleetSpec) -> None:
    agents = [EdgeAgent(load_config(Path(p))) for p in spec.configs]
    restored = sum(restore_registers(a, spec.registers) for a in agents)
    by_device = {(a.config.site, a.config.device): a for a in agents}
    started = datetime.now(UTC)
    breach = Breach(**spec.breach) if spec.breach else None
    tz = parse_offset(spec.utc_offset)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    # The agents get their own stop event: the loggers hang up first (see below).
    agents_stop = asyncio.Event()
    agent_tasks = [asyncio.create_task(a.run(agents_stop)) for a in agents]
    logger_tasks = []
    for spec_logger in spec.loggers:
        agent = by_device[(spec_logger["site"], spec_logger["device"])]
        driver = next(d for d in agent.drivers if isinstance(d, Hj212Driver))
        await asyncio.wait_for(driver.listening.wait(), timeout=10)
        assert driver.port is not None
        override = None
        if breach and breach.site == spec_logger["site"]:
            override = breach.override(started)
        logger = SimulatedLogger(
            spec_logger["mn"],
            spec_logger["st"],
            [
                LoggerPoint(p["point"], p["code"], SimPoint(p["point"], p["profile"], p["scale"]))
                for p in spec_logger["points"]
            ],
            tz,
            spec.interval_s,
            spec.seed,
            override=override,
        )
        logger_tasks.append(asyncio.create_task(logger.run("127.0.0.1", driver.port)))
    log.info(
        "%d edge agents and %d data loggers running (%d registers continued)",
        len(agents),
        len(logger_tasks),
        restored,
    )
    try:
        await stop.wait()
    finally:
        for t in logger_tasks:
            t.cancel()
        for t in logger_tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        # Let the agents' HJ 212 connection handlers see the loggers hang up before the
        # listeners close, so no handler is cancelled mid-read.
        await asyncio.sleep(0.5)
        agents_stop.set()
        await asyncio.gather(*agent_tasks, return_exceptions=True)
        log.info("edge agents stopped")


def main() -> None:
    logs.configure()
    asyncio.run(_run(FleetSpec.read(Path(sys.argv[1]))))


if __name__ == "__main__":
    main()
