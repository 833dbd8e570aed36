"""`energywatch edge --config edge.yaml`: run the edge agent until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from edge.agent import EdgeAgent
from edge.config import load_config

log = logging.getLogger("edge")


def run(config_path: Path) -> None:
    config = load_config(config_path)
    asyncio.run(_main(EdgeAgent(config)))


async def _main(agent: EdgeAgent) -> None:
    if agent.config.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(agent.config.metrics_port, registry=agent.metrics.registry)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "edge agent %s/%s: %d drivers, queue %s",
        agent.config.site,
        agent.config.device,
        len(agent.drivers),
        agent.config.queue.path,
    )
    await agent.run(stop)
    log.info("edge agent stopped; %d readings wait in the queue", agent.queue.depth)
