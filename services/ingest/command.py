"""`energywatch ingest`: run the ingest service until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from energywatch.errors import ServiceFailed
from energywatch.settings import Settings


def run(settings: Settings) -> None:
    from services.ingest.service import IngestService

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    service = IngestService(settings)
    service.start()
    failed = False
    try:
        while not stop.wait(1.0):
            if not service.is_healthy():
                logging.getLogger(__name__).error("an ingest thread died; stopping")
                failed = True
                break
    finally:
        service.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if failed:
        raise ServiceFailed("an ingest thread died (see the log above); exiting to be restarted")
