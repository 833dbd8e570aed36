"""Prometheus metrics on a port of their own, as every service serves them."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, start_http_server

from energywatch.errors import SettingsError


def serve_metrics(
    registry: CollectorRegistry, port: int, setting: str, addr: str = "0.0.0.0"
) -> Callable[[], None]:
    """Serve `registry` at /metrics on `port` (named by `setting` in the error when the port is
    taken); returns the function that stops the server."""
    try:
        server, thread = start_http_server(port, addr=addr, registry=registry)
    except OSError as exc:
        raise SettingsError(f"cannot serve metrics on {addr}:{port} ({setting}): {exc}") from exc

    def close() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return close
