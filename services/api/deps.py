"""Dependencies, declared once as Annotated aliases: a route's signature says what it needs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Path, Query, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from energywatch.settings import Settings
from energywatch.storage.tables import sites
from services.api import accounts
from services.api.client_address import client_address
from services.api.principal import Principal
from services.api.problems import forbidden, not_found, unauthorized
from services.api.scope import site_in_scope
from services.api.tokens import InvalidCredentials, read_stream_ticket, read_token

TOKEN_URL = "/api/v1/auth/token"

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> sa.Engine:
    return request.app.state.engine


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[sa.Engine, Depends(get_engine)]


def get_conn(request: Request, engine: EngineDep) -> Iterator[sa.Connection]:
    """Reads run in autocommit (no BEGIN/COMMIT round trips on the hot path); every other
    method gets one transaction, committed when the route returns, rolled back on error."""
    if request.method in ("GET", "HEAD"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn
        return
    with engine.begin() as conn:
        yield conn


# Closed (committed) when the route function returns, not when the response is sent: a live
# stream must not hold a pooled connection and a transaction open for hours.
ConnDep = Annotated[sa.Connection, Depends(get_conn, scope="function")]


def client_of(request: Request, settings: SettingsDep) -> str:
    return client_address(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        settings.api.trusted_proxies,
    )


ClientDep = Annotated[str, Depends(client_of)]


def _authenticate(
    conn: sa.Connection,
    settings: Settings,
    token: str | None,
    key: str | None,
    ticket: str | None = None,
) -> Principal:
    secret = settings.api.secret_key.get_secret_value()
    try:
        if key:
            return accounts.principal_by_api_key(conn, key)
        username = None
        if token:
            username = read_token(token, secret).username
        elif ticket:
            username = read_stream_ticket(ticket, secret)
        if username:
            # The database has the last word: a disabled or re-scoped user changes at once.
            current = accounts.principal_by_username(conn, username)
            if current is not None:
                return current
    except InvalidCredentials as exc:
        raise unauthorized(str(exc)) from exc
    raise unauthorized()


def current_principal(
    conn: ConnDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(_bearer)],
    key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    return _authenticate(conn, settings, token, key)


CurrentUser = Annotated[Principal, Depends(current_principal)]


def stream_principal(
    conn: ConnDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(_bearer)],
    key: Annotated[str | None, Depends(_api_key)],
    ticket: Annotated[
        str | None,
        Query(
            description="a ticket from POST /auth/stream-ticket, for EventSource, which cannot"
            " set headers",
            max_length=1000,
        ),
    ] = None,
) -> Principal:
    return _authenticate(conn, settings, token, key, ticket)


StreamUser = Annotated[Principal, Depends(stream_principal)]


def require_admin(user: CurrentUser) -> Principal:
    if user.role != "admin":
        raise forbidden("only an admin may do this")
    return user


AdminUser = Annotated[Principal, Depends(require_admin)]


@dataclass(frozen=True)
class Site:
    id: int
    code: str
    name: str
    kind: str
    division_code: str
    industry: str | None
    timezone: str
    energy_budget_tce: float | None
    carbon_budget_tco2: float | None
    coal_basis: str = "equivalent"  # the basis the site reports on besides the equivalent value


SITE_CODE = Path(description="site code", min_length=1, max_length=100)


def lookup_site(conn: sa.Connection, user: Principal, code: str) -> Site:
    row = (
        conn.execute(sa.select(sites).where(sites.c.code == code, site_in_scope(user)))
        .mappings()
        .first()
    )
    if row is None:
        raise not_found(f"site {code}")
    return Site(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        kind=row["kind"],
        division_code=row["division_code"],
        industry=row["industry"],
        timezone=row["timezone"],
        energy_budget_tce=row["energy_budget_tce"],
        carbon_budget_tco2=row["carbon_budget_tco2"],
        coal_basis=row["coal_basis"],
    )


def scoped_site(conn: ConnDep, user: CurrentUser, site: Annotated[str, SITE_CODE]) -> Site:
    """The site named in the path, if the caller may see it; 404 otherwise, either way."""
    return lookup_site(conn, user, site)


def stream_site(conn: ConnDep, user: StreamUser, site: Annotated[str, SITE_CODE]) -> Site:
    return lookup_site(conn, user, site)


ScopedSite = Annotated[Site, Depends(scoped_site)]
StreamSite = Annotated[Site, Depends(stream_site)]


DIVISION = Path(description="administrative-division code prefix", pattern=r"^[0-9]{2,6}$")


def scoped_region(user: CurrentUser, division: Annotated[str, DIVISION]) -> str:
    """A division prefix the caller covers; 404 like an unknown region otherwise."""
    if not user.covers_region(division):
        raise not_found(f"region {division}")
    return division


ScopedRegion = Annotated[str, Depends(scoped_region)]


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Page:
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(page_params)]
