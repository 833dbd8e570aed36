"""`energywatch api`: serve the REST API, the live stream and the dashboard with uvicorn."""

from __future__ import annotations

import signal
from types import FrameType

import uvicorn

from energywatch.settings import Settings
from services.api.app import create_app

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _already_handled(sig: int, frame: FrameType | None) -> None:
    """uvicorn drains open requests on SIGINT/SIGTERM, then raises the signal again so that
    the previous handler runs; this one lets the process end with status 0 instead of dying
    by the signal or with a KeyboardInterrupt trace."""


def run(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM; open requests get 5 s to finish."""
    app = create_app(settings)
    previous = {sig: signal.signal(sig, _already_handled) for sig in _STOP_SIGNALS}
    try:
        uvicorn.run(
            app,
            host=settings.api.host,
            port=settings.api.port,
            log_level=settings.log_level.lower(),
            # X-Forwarded-For is read by the app, from api.trusted_proxies only
            # (services/api/client_address.py); uvicorn's own reading would trust it from
            # 127.0.0.1, and then from any local process.
            proxy_headers=False,
            timeout_graceful_shutdown=5,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
