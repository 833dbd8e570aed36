"""Who is calling, and which sites they may see (pure; the SQL form lives in scope.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "regulator", "operator"]
ROLES: tuple[Role, ...] = ("admin", "regulator", "operator")

_PREFIX = re.compile(r"^[0-9]{1,6}$")


@dataclass(frozen=True)
class Principal:
    username: str
    role: Role
    # regulator: division-code prefixes; operator: (site code,); admin: ()
    scope: tuple[str, ...]
    api_key_id: int | None = None

    @property
    def scope_text(self) -> str | None:
        return ",".join(self.scope) if self.scope else None

    def sees_division(self, division_code: str) -> bool:
        if self.role == "admin":
            return True
        if self.role == "regulator":
            return any(division_code.startswith(p) for p in self.scope)
        return False

    def covers_region(self, prefix: str) -> bool:
        """Whether every site under `prefix` is in scope (a regulator of 1401 covers 140105)."""
        if self.role == "admin":
            return True
        if self.role == "regulator":
            return any(prefix.startswith(p) for p in self.scope)
        return False


def parse_scope(role: str, scope: str | None) -> tuple[str, ...]:
    """Validate and normalise a stored or given scope for `role`; ValueError when wrong."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role == "admin":
        if scope:
            raise ValueError("an admin has no scope")
        return ()
    if not scope or not scope.strip():
        raise ValueError(f"{'an' if role == 'operator' else 'a'} {role} needs a scope")
    if role == "operator":
        code = scope.strip()
        if "," in code:
            raise ValueError("an operator's scope is one site code")
        return (code,)
    prefixes = tuple(p.strip() for p in scope.split(",") if p.strip())
    for p in prefixes:
        if not _PREFIX.match(p):
            raise ValueError(f"{p!r} is not a division-code prefix (1 to 6 digits)")
    return prefixes
