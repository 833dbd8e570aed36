from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from energywatch.metrics_server import serve_metrics
from energywatch.settings import ApiSettings, DatabaseSettings, Settings
from energywatch.storage.engine import make_engine
from services.api.app import create_app
from services.demo.broker import free_port
from tests.integration.api.world import PASSWORD, World, build_world
from tests.support.waiting import wait_until


@pytest.fixture
def world_db(db_url: str, clock: datetime) -> tuple[str, World]:
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            world = build_world(conn, clock)
    finally:
        engine.dispose()
    return db_url, world


@pytest.fixture
def api_settings(world_db: tuple[str, World]) -> Settings:
    return Settings(
        demo=True, database=DatabaseSettings(url=world_db[0]), api=ApiSettings(stream_poll_s=0.2)
    )


@pytest.fixture
def world(world_db: tuple[str, World]) -> World:
    return world_db[1]


@pytest.fixture
def api_app(api_settings: Settings) -> FastAPI:
    return create_app(api_settings)


@pytest.fixture
def client(api_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(api_app) as c:
        yield c


@pytest.fixture
def metrics_url(api_app: FastAPI) -> Iterator[str]:
    """The app's metrics served on a port of their own, as `energywatch api` serves them."""
    port = free_port()
    close = serve_metrics(api_app.state.metrics.registry, port, "api.metrics_port")
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        close()


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def server(api_app: FastAPI) -> Iterator[str]:
    """The app served by a real uvicorn on a free port, in a thread."""
    port = free_port()
    config = uvicorn.Config(
        api_app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    wait_until(lambda: srv.started, 10, "uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
