"""`energywatch ingest`: run the ingest service until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from energywatch.settings import Settings


def run(settings: Settings) -> None:
    from services.ingest.service import IngestService

    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    service = IngestService(settings)
    service.start()
    try:
        while not stop.wait(1.0):
            if not service.is_healthy():
                logging.getLogger(__name__).error("an ingest thread died; stopping")
                break
    finally:
        service.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
