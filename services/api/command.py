"""`energywatch api`: serve the REST API, the live stream and the dashboard with uvicorn, and
the Prometheus metrics on `api.metrics_port`."""

from __future__ import annotations

import signal
from types import FrameType

import uvicorn

from energywatch.metrics_server import serve_metrics
from energywatch.settings import Settings, require_secrets
from services.api.app import create_app

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _already_handled(sig: int, frame: FrameType | None) -> None:
    """uvicorn drains open requests on SIGINT/SIGTERM, then raises the signal again so that
    the previous handler runs; this one lets the process end with status 0 instead of dying
    by the signal or with a KeyboardInterrupt trace."""


def run(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM; open requests get 5 s to finish."""
    require_secrets(settings, "api.secret_key")
    app = create_app(settings)
    # Metrics on a port of their own, like every other service: the API's port faces the
    # users, the metrics port only the Prometheus network.
    port = settings.api.metrics_port
    close_metrics = (
        serve_metrics(app.state.metrics.registry, port, "api.metrics_port") if port else None
    )
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
        if close_metrics:
            close_metrics()
