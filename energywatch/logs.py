"""The one logging set-up of every entry point (the CLI, `python -m edge`, the demo fleet):
time, level, logger and message, one line each, on stderr. The services' `run` functions log
and leave the set-up to whoever started them."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(level: str = "INFO") -> None:
    """Log at `level` (a level name, any case). A later call changes nothing: the first entry
    point to run decides."""
    logging.basicConfig(level=level.upper(), format=FORMAT)
