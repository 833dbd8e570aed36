"""The configuration file of Mosquitto's dynamic security plugin, built from accounts.

Why this plugin rather than a password file and an ACL file: it binds an account to a client
id (a connection with another id is refused at CONNECT, so no account can take over another's
session), and it checks subscriptions against their own ACL type at SUBSCRIBE time (a device's
subscription to ingest's shared group is refused in the SUBACK instead of being accepted and
then starved of deliveries, which took ingest's turn of the messages).

Deny by default: no account may publish, receive or subscribe unless one of its roles allows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from energywatch.broker import passwd

AclType = Literal[
    "publishClientSend",
    "publishClientReceive",
    "subscribeLiteral",
    "subscribePattern",
    "unsubscribeLiteral",
    "unsubscribePattern",
]


@dataclass(frozen=True)
class Acl:
    kind: AclType
    topic: str
    allow: bool = True
    priority: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "acltype": self.kind,
            "topic": self.topic,
            "priority": self.priority,
            "allow": self.allow,
        }


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    client_id: str | None  # None: any client id (several ingest workers share one account)
    role: str  # the name of a role in the same file
    acls: tuple[Acl, ...] = ()  # a role of its own (devices)


def ingest_acls(prefix: str, share_group: str) -> tuple[Acl, ...]:
    """Every device's readings and status, alone or in the shared group; commit confirmations
    to every device's `ack` topic."""
    filters = [f"{prefix}/+/+/readings", f"{prefix}/+/+/status"]
    shared = [f"$share/{share_group}/{f}" for f in filters] if share_group else []
    return (
        *(Acl("subscribePattern", f) for f in (*filters, *shared)),
        *(Acl("publishClientReceive", f) for f in filters),
        Acl("publishClientSend", f"{prefix}/+/+/ack"),
    )


def monitor_acls(prefix: str) -> tuple[Acl, ...]:
    return (
        Acl("subscribePattern", f"{prefix}/#"),
        Acl("publishClientReceive", f"{prefix}/#"),
    )


def device_acls(prefix: str, site: str, device: str) -> tuple[Acl, ...]:
    """Publish under its own topics, except the two the server writes; read exactly those two.
    Literal subscriptions only: no wildcard, no shared group, no other device."""
    base = f"{prefix}/{site}/{device}"
    inbound = (f"{base}/cmd", f"{base}/ack")
    return (
        Acl("publishClientSend", f"{base}/#"),
        *(Acl("publishClientSend", t, allow=False, priority=1) for t in inbound),
        *(Acl("subscribeLiteral", t) for t in inbound),
        *(Acl("publishClientReceive", t) for t in inbound),
    )


def _credentials(
    username: str, password: str, iterations: int, previous: Mapping[str, Any]
) -> dict[str, Any]:
    """password/salt/iterations, kept from `previous` when the password did not change, so a
    regeneration rewrites only the accounts whose password changed."""
    old = previous.get(username)
    if old is not None:
        old_hash = f"{passwd.PREFIX}{old['iterations']}${old['salt']}${old['password']}"
        if passwd.verify_password(old_hash, password):
            return {k: old[k] for k in ("password", "salt", "iterations")}
    _, _, rounds, salt, key = passwd.hash_password(password, iterations).split("$")
    return {"password": key, "salt": salt, "iterations": int(rounds)}


def dynsec_config(
    accounts: Iterable[Account],
    shared_roles: Mapping[str, tuple[Acl, ...]],
    iterations: int,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The plugin's JSON document. `previous` is an earlier document (or {}): its hashes of
    unchanged passwords are reused."""
    old = {c["username"]: c for c in (previous or {}).get("clients", []) if "salt" in c}
    clients: list[dict[str, Any]] = []
    roles = dict(shared_roles)
    for a in sorted(accounts, key=lambda a: a.username):
        client: dict[str, Any] = {"username": a.username}
        if a.client_id is not None:
            client["clientid"] = a.client_id
        client.update(_credentials(a.username, a.password, iterations, old))
        client["roles"] = [{"rolename": a.role}]
        clients.append(client)
        if a.acls:
            roles[a.role] = a.acls
    return {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": clients,
        "groups": [],
        "roles": [
            {"rolename": name, "acls": [acl.to_json() for acl in acls]}
            for name, acls in sorted(roles.items())
        ],
    }
