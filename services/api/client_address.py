"""The address of the client behind a request, for the login limits and the audit log.

X-Forwarded-For is anyone's to write, so it is read only when the peer that sent the request
is one of `api.trusted_proxies`; then the nearest address in it that is not itself a trusted
proxy is the client (each proxy appends the address it saw, so everything left of that may be
made up by the client).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from pydantic import IPvAnyNetwork


def _trusted(address: str, proxies: Sequence[IPvAnyNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], proxies: Sequence[IPvAnyNetwork]
) -> str:
    """`peer`, or the client X-Forwarded-For names when `peer` is a trusted proxy."""
    if peer is None:
        return "unknown"
    if not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        if _trusted(hop, proxies):
            continue
        try:
            return str(ipaddress.ip_address(hop))
        except ValueError:
            return peer  # a proxy that writes no address here is misconfigured
    return hops[0] if hops else peer  # every hop a trusted proxy: the first one sent it
