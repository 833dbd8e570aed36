"""Where a webhook may go.

A rule's webhook URL is chosen by whoever writes the rule (a regulator, through the API), and
the alerting service POSTs to it from inside the operator's network: without a check, a rule
could make it reach the cloud metadata service (169.254.169.254), a database admin page on
localhost, or any internal host. So a webhook must be http or https, and every address its host
resolves to must be public, unless `alerting.webhook_allowed_networks` names the network.

Checked when a rule is stored (API, rules files) and again before every delivery, against the
addresses the host resolves to then (DNS may have changed since); the delivery then connects to
the address that was checked, so an answer that changes between check and connect cannot slip
past. A host that does not resolve when the rule is stored is accepted: the delivery decides.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from energywatch.errors import EnergyWatchError
from energywatch.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

SCHEMES = {"http": 80, "https": 443}
SETTING = "alerting.webhook_allowed_networks"


class WebhookRefused(EnergyWatchError):
    """A webhook URL may not be used; the message is one line saying why."""


class Unresolved(EnergyWatchError):
    """The webhook's host does not resolve (now); a later attempt may succeed."""


def resolve(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for `host` (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolved(f"webhook host {host} does not resolve: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _kind(address: Address) -> str | None:
    """Why an address is not public, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    checks = (
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_unspecified, "unspecified"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "non-public"),
    )
    return next((name for hit, name in checks if hit), None)


@dataclass(frozen=True)
class Target:
    """A checked webhook: the URL as given, and the address to connect to."""

    url: str
    address: str


@dataclass(frozen=True)
class WebhookPolicy:
    allowed_networks: tuple[Network, ...] = ()
    resolver: Resolver = resolve

    @classmethod
    def allowing(
        cls, networks: Iterable[Network | str], resolver: Resolver = resolve
    ) -> WebhookPolicy:
        return cls(tuple(ipaddress.ip_network(n) for n in networks), resolver)

    def _split(self, url: str) -> tuple[str, int]:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise WebhookRefused(f"webhook {url!r} is not a valid URL: {exc}") from exc
        if parts.scheme not in SCHEMES:
            raise WebhookRefused(f"webhook {url!r}: only http and https are allowed")
        if not parts.hostname:
            raise WebhookRefused(f"webhook {url!r} names no host")
        return parts.hostname, port or SCHEMES[parts.scheme]

    def _check_address(self, url: str, host: str, text: str) -> None:
        address = ipaddress.ip_address(text.partition("%")[0])
        kind = _kind(address)
        if kind and not any(address in net for net in self.allowed_networks):
            via = "" if host == text else f"{host} resolves to "
            raise WebhookRefused(
                f"webhook {url!r} refused: {via}{address} is a {kind} address"
                f" (allowed only in {SETTING})"
            )

    def target(self, url: str) -> Target:
        """Resolve and check every address of the URL's host: WebhookRefused when one is not
        allowed, Unresolved when the host does not resolve."""
        host, port = self._split(url)
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            addresses = self.resolver(host, port)
        if not addresses:
            raise Unresolved(f"webhook host {host} resolves to no address")
        for text in addresses:
            self._check_address(url, host, text)
        return Target(url, addresses[0])

    def check_stored(self, url: str) -> None:
        """The check when a rule is stored: a host that does not resolve yet is let through
        (the delivery checks again)."""
        with contextlib.suppress(Unresolved):
            self.target(url)


def webhook_policy(settings: Settings) -> WebhookPolicy:
    return WebhookPolicy.allowing(settings.alerting.webhook_allowed_networks)
