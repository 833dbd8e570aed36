"""`energywatch api`: serve the REST API, the live stream and the dashboard with uvicorn."""

from __future__ import annotations

import uvicorn

from energywatch.settings import Settings
from services.api.app import create_app


def run(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn handles both and drains open requests)."""
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.api.host,
        port=settings.api.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        timeout_graceful_shutdown=5,
    )
