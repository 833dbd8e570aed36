"""Login (OAuth2 password flow), the caller, API keys and users."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Request
from fastapi.security import OAuth2PasswordRequestForm

from energywatch.storage.api_tables import api_keys, users
from energywatch.storage.tables import sites
from services.api import accounts, audit
from services.api.deps import (
    AdminUser,
    ClientDep,
    ConnDep,
    CurrentUser,
    EngineDep,
    PageDep,
    SettingsDep,
)
from services.api.problems import (
    PROBLEM_RESPONSES,
    ProblemError,
    forbidden,
    not_found,
    unauthorized,
)
from services.api.schemas.auth import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    MePublic,
    StreamTicket,
    TokenPublic,
    UserCreate,
    UserPublic,
)
from services.api.schemas.common import Page
from services.api.scope import site_in_scope
from services.api.tokens import (
    InvalidCredentials,
    issue_stream_ticket,
    issue_token,
    new_api_key,
)

router = APIRouter(tags=["auth"], responses=PROBLEM_RESPONSES)


@router.post(
    "/auth/token",
    response_model=TokenPublic,
    responses={429: {"description": "too many failed logins"}},
)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    engine: EngineDep,
    settings: SettingsDep,
    client: ClientDep,
    request: Request,
) -> TokenPublic:
    limits = accounts.LoginLimits(
        settings.api.login_max_failures,
        settings.api.login_max_failures_per_client,
        settings.api.login_window_s,
    )
    metrics = request.app.state.metrics
    failure: ProblemError | None = None
    try:
        principal = accounts.login(
            engine, form.username, form.password, client, limits, metrics.password_checks.inc
        )
    except accounts.LoginLimited as exc:
        failure = ProblemError(429, str(exc), headers={"Retry-After": str(exc.retry_after_s)})
    except InvalidCredentials as exc:
        failure = unauthorized(str(exc))
    outcome = "ok" if failure is None else ("limited" if failure.status == 429 else "failed")
    metrics.logins.labels(outcome).inc()
    if failure is not None:
        raise failure
    minutes = settings.api.token_minutes
    return TokenPublic(
        access_token=issue_token(principal, settings.api.secret_key.get_secret_value(), minutes),
        expires_in=minutes * 60,
        username=principal.username,
        role=principal.role,
        scope=principal.scope_text,
    )


@router.post("/auth/stream-ticket", response_model=StreamTicket)
def stream_ticket(user: CurrentUser, settings: SettingsDep) -> StreamTicket:
    """A ticket that opens a live stream (`?ticket=`) within `api.stream_ticket_s` (60 s), for
    a browser's EventSource, which cannot send the Authorization header."""
    seconds = settings.api.stream_ticket_s
    secret = settings.api.secret_key.get_secret_value()
    return StreamTicket(ticket=issue_stream_ticket(user, secret, seconds), expires_in=seconds)


@router.get("/auth/me", response_model=MePublic)
def me(user: CurrentUser, conn: ConnDep) -> MePublic:
    codes = (
        conn.execute(
            sa.select(sites.c.code).where(site_in_scope(user)).order_by(sites.c.code).limit(1000)
        )
        .scalars()
        .all()
    )
    return MePublic(
        username=user.username, role=user.role, scope=user.scope_text, sites=list(codes)
    )


def _user_id(conn: sa.Connection, username: str) -> int:
    return int(conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar_one())


@router.post(
    "/auth/api-keys",
    response_model=ApiKeyCreated,
    status_code=201,
    responses={403: {"description": "the caller authenticated with an API key"}},
)
def create_api_key(
    body: ApiKeyCreate, user: CurrentUser, conn: ConnDep, client: ClientDep
) -> ApiKeyCreated:
    if user.api_key_id is not None:
        # A leaked key must not be able to outlive its revocation by minting others.
        raise forbidden("an API key cannot create API keys; sign in as a person to create one")
    key_id = conn.execute(
        api_keys.insert()
        .values(user_id=_user_id(conn, user.username), name=body.name, secret_sha256="")
        .returning(api_keys.c.id)
    ).scalar_one()
    key, digest = new_api_key(key_id)
    row = (
        conn.execute(
            api_keys.update()
            .where(api_keys.c.id == key_id)
            .values(secret_sha256=digest)
            .returning(api_keys)
        )
        .mappings()
        .one()
    )
    audit.record(
        conn,
        "apikey.create",
        username=user.username,
        target=str(key_id),
        detail={"name": body.name},
        client=client,
    )
    return ApiKeyCreated(key=key, **{k: row[k] for k in ApiKeyPublic.model_fields})


@router.get("/auth/api-keys", response_model=Page[ApiKeyPublic])
def list_api_keys(user: CurrentUser, conn: ConnDep, page: PageDep) -> Page[ApiKeyPublic]:
    where = api_keys.c.user_id == _user_id(conn, user.username)
    total = conn.execute(sa.select(sa.func.count()).select_from(api_keys).where(where)).scalar_one()
    rows = (
        conn.execute(
            sa.select(api_keys)
            .where(where)
            .order_by(api_keys.c.id)
            .limit(page.limit)
            .offset(page.offset)
        )
        .mappings()
        .all()
    )
    return Page(
        items=[ApiKeyPublic.model_validate(dict(r)) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.delete("/auth/api-keys/{key_id}", status_code=204)
def revoke_api_key(
    key_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    user: CurrentUser,
    conn: ConnDep,
    client: ClientDep,
) -> None:
    mine = api_keys.c.user_id == _user_id(conn, user.username)
    done = conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, mine, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=sa.func.now())
    ).rowcount
    if not done:
        raise not_found(f"API key {key_id}")
    audit.record(conn, "apikey.revoke", username=user.username, target=str(key_id), client=client)


@router.get("/users", response_model=Page[UserPublic])
def list_users(_: AdminUser, conn: ConnDep, page: PageDep) -> Page[UserPublic]:
    total = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
    rows = (
        conn.execute(
            sa.select(users).order_by(users.c.username).limit(page.limit).offset(page.offset)
        )
        .mappings()
        .all()
    )
    return Page(
        items=[UserPublic.model_validate(dict(r)) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/users",
    response_model=UserPublic,
    status_code=201,
    responses={409: {"description": "username taken"}},
)
def create_user(body: UserCreate, admin: AdminUser, conn: ConnDep, client: ClientDep) -> UserPublic:
    if conn.execute(sa.select(users.c.id).where(users.c.username == body.username)).first():
        raise ProblemError(409, f"user {body.username} exists")
    try:
        accounts.create_user(conn, body.username, body.password, body.role, body.scope)
    except ValueError as exc:
        raise ProblemError(422, str(exc)) from exc
    audit.record(
        conn,
        "user.create",
        username=admin.username,
        target=body.username,
        detail={"role": body.role, "scope": body.scope},
        client=client,
    )
    row = conn.execute(sa.select(users).where(users.c.username == body.username)).mappings().one()
    return UserPublic.model_validate(dict(row))
