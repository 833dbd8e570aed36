"""The caller's scope as a SQL condition on the sites table."""

from __future__ import annotations

import sqlalchemy as sa

from energywatch.storage.tables import sites
from services.api.principal import Principal


def site_in_scope(
    principal: Principal, table: sa.Table | sa.sql.expression.FromClause = sites
) -> sa.ColumnElement[bool]:
    if principal.role == "admin":
        return sa.true()
    if principal.role == "regulator":
        return sa.or_(
            *(table.c.division_code.startswith(p, autoescape=True) for p in principal.scope)
        )
    return table.c.code == principal.scope[0]
