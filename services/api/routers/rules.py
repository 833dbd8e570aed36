"""Alert rules stored in the database (CRUD), validated with the alerting service's rule model.

Scope: a rule that names sites, points or a region belongs to them; a rule that names none
applies to the whole fleet. Anyone sees fleet-wide rules; a rule naming sites or a region is
seen only by those whose scope meets it. Regulators write rules confined to their region;
fleet-wide rules are the admin's.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel

from energywatch.settings import Settings
from energywatch.storage.alerting_tables import alert_rules
from energywatch.storage.tables import sites
from services.alerting.rules import Rule, RuleError, parse_rule
from services.alerting.webhooks import webhook_policy
from services.api import audit
from services.api.deps import ClientDep, ConnDep, CurrentUser, PageDep, SettingsDep
from services.api.principal import Principal
from services.api.problems import PROBLEM_RESPONSES, ProblemError, forbidden, not_found
from services.api.schemas.common import Page
from services.api.scope import site_in_scope

router = APIRouter(tags=["rules"], responses=PROBLEM_RESPONSES)

RULE_NAME = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


class RulePublic(BaseModel):
    name: str
    kind: str
    enabled: bool
    definition: dict[str, Any]
    created_by: str | None


def _named_sites(definition: dict[str, Any]) -> set[str]:
    select = definition.get("select") or {}
    names = set(select.get("sites") or ())
    names |= {p.partition("/")[0] for p in select.get("points") or () if "/" in p}
    return names


def _sites_in_scope(conn: sa.Connection, user: Principal, codes: set[str]) -> set[str]:
    if not codes:
        return set()
    return set(
        conn.execute(
            sa.select(sites.c.code).where(sites.c.code.in_(codes), site_in_scope(user))
        ).scalars()
    )


def _own_division(conn: sa.Connection, user: Principal) -> str | None:
    return conn.execute(sa.select(sites.c.division_code).where(site_in_scope(user))).scalar()


def rule_visible(conn: sa.Connection, user: Principal, definition: dict[str, Any]) -> bool:
    if user.role == "admin":
        return True
    named = _named_sites(definition)
    region = (definition.get("select") or {}).get("region")
    if named:
        return bool(_sites_in_scope(conn, user, named))
    if region:
        if user.role == "regulator":
            return any(region.startswith(p) or p.startswith(region) for p in user.scope)
        division = _own_division(conn, user)
        return division is not None and division.startswith(region)
    return True


def _check_writable(conn: sa.Connection, user: Principal, definition: dict[str, Any]) -> None:
    if user.role == "admin":
        return
    if user.role != "regulator":
        raise forbidden("only regulators and admins change rules")
    named = _named_sites(definition)
    region = (definition.get("select") or {}).get("region")
    if not named and not region:
        raise forbidden("a fleet-wide rule is the admin's; name your region or sites")
    if named and _sites_in_scope(conn, user, named) != named:
        raise not_found("site")
    if region and not user.covers_region(region):
        raise not_found(f"region {region}")


def _public(row: Any) -> RulePublic:
    return RulePublic(
        name=row["name"],
        kind=row["definition"].get("kind", ""),
        enabled=row["enabled"],
        definition=row["definition"],
        created_by=row["created_by"],
    )


def _validated(document: dict[str, Any], settings: Settings) -> Rule:
    try:
        return parse_rule(document, "body", webhook_policy(settings))
    except RuleError as exc:
        raise ProblemError(422, str(exc)) from exc


def _visible_row(conn: sa.Connection, user: Principal, name: str) -> Any:
    row = conn.execute(sa.select(alert_rules).where(alert_rules.c.name == name)).mappings().first()
    if row is None or not rule_visible(conn, user, row["definition"]):
        raise not_found(f"rule {name}")
    return row


RuleBody = Annotated[
    dict[str, Any],
    Body(
        description="one rule in the alerting rule format (docs/alerting.md), as JSON",
        examples=[
            {
                "name": "energy.daily.TY-COKE-01",
                "kind": "energy",
                "select": {"sites": ["TY-COKE-01"]},
                "window": "24h",
                "thresholds": {"warning": 150, "critical": 180},
            }
        ],
    ),
]


@router.get("/rules", response_model=Page[RulePublic])
def list_rules(
    user: CurrentUser,
    conn: ConnDep,
    page: PageDep,
    kind: Annotated[str | None, Query(max_length=50)] = None,
) -> Page[RulePublic]:
    rows = conn.execute(sa.select(alert_rules).order_by(alert_rules.c.name)).mappings().all()
    chosen = [
        r
        for r in rows
        if rule_visible(conn, user, r["definition"])
        and (kind is None or r["definition"].get("kind") == kind)
    ]
    return Page(
        items=[_public(r) for r in chosen[page.offset : page.offset + page.limit]],
        total=len(chosen),
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/rules/{name}", response_model=RulePublic)
def get_rule(name: Annotated[str, RULE_NAME], user: CurrentUser, conn: ConnDep) -> RulePublic:
    return _public(_visible_row(conn, user, name))


@router.post(
    "/rules",
    response_model=RulePublic,
    status_code=201,
    responses={409: {"description": "a rule of that name exists"}},
)
def create_rule(
    body: RuleBody, user: CurrentUser, conn: ConnDep, client: ClientDep, settings: SettingsDep
) -> RulePublic:
    rule = _validated(body, settings)
    definition = rule.definition()
    _check_writable(conn, user, definition)
    exists = conn.execute(sa.select(alert_rules.c.name).where(alert_rules.c.name == rule.name))
    if exists.first():
        raise ProblemError(409, f"rule {rule.name} exists")
    row = (
        conn.execute(
            alert_rules.insert()
            .values(
                name=rule.name,
                definition=definition,
                enabled=rule.enabled,
                created_by=user.username,
            )
            .returning(alert_rules)
        )
        .mappings()
        .one()
    )
    audit.record(
        conn,
        "rule.create",
        username=user.username,
        target=rule.name,
        detail=definition,
        client=client,
    )
    return _public(row)


@router.put("/rules/{name}", response_model=RulePublic)
def update_rule(
    name: Annotated[str, RULE_NAME],
    body: RuleBody,
    user: CurrentUser,
    conn: ConnDep,
    client: ClientDep,
    settings: SettingsDep,
) -> RulePublic:
    old = _visible_row(conn, user, name)
    rule = _validated({**body, "name": name}, settings)
    definition = rule.definition()
    _check_writable(conn, user, old["definition"])
    _check_writable(conn, user, definition)
    row = (
        conn.execute(
            alert_rules.update()
            .where(alert_rules.c.name == name)
            .values(
                definition=definition,
                enabled=rule.enabled,
                updated_at=sa.func.now(),
            )
            .returning(alert_rules)
        )
        .mappings()
        .one()
    )
    audit.record(
        conn,
        "rule.update",
        username=user.username,
        target=name,
        detail={"before": old["definition"], "after": definition},
        client=client,
    )
    return _public(row)


@router.delete("/rules/{name}", status_code=204)
def delete_rule(
    name: Annotated[str, RULE_NAME], user: CurrentUser, conn: ConnDep, client: ClientDep
) -> None:
    old = _visible_row(conn, user, name)
    _check_writable(conn, user, old["definition"])
    conn.execute(alert_rules.delete().where(alert_rules.c.name == name))
    audit.record(
        conn,
        "rule.delete",
        username=user.username,
        target=name,
        detail=old["definition"],
        client=client,
    )
