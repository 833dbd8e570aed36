"""The app factory: settings in, app out. Nothing is built at import."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from energywatch.dependencies import Dependency, check_database
from energywatch.errors import DependencyError
from energywatch.settings import Settings
from energywatch.storage.engine import sqlalchemy_url
from services.api.docs_ui import install_docs
from services.api.metrics import ApiMetrics, install_metrics
from services.api.problems import install_problem_handlers
from services.api.routers import (
    alerts,
    audit_log,
    auth,
    consumption,
    flows,
    health,
    indicators,
    live,
    readings,
    regions,
    reports,
    rules,
    sites,
    stations,
    units,
)
from services.api.security_headers import install_security_headers

log = logging.getLogger(__name__)

DEFAULT_DASHBOARD = Path(__file__).parent / "dashboard"
API_PREFIX = "/api/v1"
OPENAPI_URL = "/openapi.json"
VENDOR_URL = "/vendor"


# PostgreSQL compiles a statement whose estimated cost passes jit_above_cost (100,000 by
# default). The API's statements run in milliseconds, but a regional one (the ranking: a
# nested loop over a province's enterprises) is estimated far above that: on 2,000 enterprises
# compiling took 513 ms of CPU for 118 ms of execution (docs/api.md, Performance). Set on each
# new connection, not in the URL: the operator's own `options` there stay as they are.
NO_JIT = "SET jit = off"


def api_engine(settings: Settings) -> sa.Engine:
    """The pool of the API. No ping before each checkout (one round trip per request): after
    a database restart a stale connection fails once, answers 503 and leaves the pool."""
    engine = sa.create_engine(
        sqlalchemy_url(settings.database.url),
        pool_size=settings.database.pool_size,
        max_overflow=10,
        pool_pre_ping=False,
        pool_recycle=1800,
    )
    sa.event.listen(engine, "connect", _without_jit)
    return engine


def _without_jit(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute(NO_JIT)
    dbapi_connection.commit()


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = api_engine(settings)
        try:  # say at start when the database is wrong or away, not at the first request
            await asyncio.to_thread(check_database, settings.database.url)
        except DependencyError as exc:
            app.state.database.down(str(exc))
        try:
            yield
        finally:
            app.state.engine.dispose()

    app = FastAPI(
        title="EnergyWatch API",
        version="1",
        description="Energy use and carbon emissions of key energy-using enterprises. "
        "See docs/api.md.",
        lifespan=lifespan,
        openapi_url=OPENAPI_URL,
        # FastAPI's own /docs and /redoc load from CDNs; services/api/docs_ui.py serves both.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = ApiMetrics()
    app.state.database = Dependency(
        "database",
        log,
        app.state.metrics.dependency_up,
        retry="serving 503 until it answers (see /healthz)",
    )
    install_problem_handlers(app)
    install_metrics(app, app.state.metrics)
    install_security_headers(app)

    app.include_router(health.router)
    for module in (
        auth,
        sites,
        readings,
        live,
        consumption,
        units,
        flows,
        indicators,
        alerts,
        rules,
        reports,
        regions,
        stations,
        audit_log,
    ):
        app.include_router(module.router, prefix=API_PREFIX)

    dashboard = settings.api.dashboard_dir or DEFAULT_DASHBOARD
    vendor = dashboard / "node_modules"
    install_docs(app, vendor, VENDOR_URL, OPENAPI_URL)
    if vendor.is_dir():
        app.mount(VENDOR_URL, StaticFiles(directory=vendor), name="vendor")
    if dashboard.is_dir():
        app.mount("/", StaticFiles(directory=dashboard, html=True), name="dashboard")
    return app
