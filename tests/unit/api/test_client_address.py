"""Which address a request counts under: X-Forwarded-For only from a trusted proxy."""

from __future__ import annotations

import ipaddress

from services.api.client_address import client_address

PROXIES = [ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("fd00::/8")]


def test_the_header_of_an_untrusted_peer_is_ignored() -> None:
    assert client_address("198.51.100.1", ["203.0.113.9"], PROXIES) == "198.51.100.1"
    assert client_address("127.0.0.1", ["203.0.113.9"], []) == "127.0.0.1"


def test_a_trusted_proxy_names_the_nearest_untrusted_address() -> None:
    assert client_address("10.0.0.5", ["203.0.113.9"], PROXIES) == "203.0.113.9"
    # The client wrote the first entry; the proxy appended what it saw.
    assert client_address("10.0.0.5", ["1.2.3.4, 203.0.113.9"], PROXIES) == "203.0.113.9"
    # Two proxies of ours in a row, the header split over two lines.
    assert client_address("10.0.0.5", ["203.0.113.9", "10.0.0.7"], PROXIES) == "203.0.113.9"
    assert client_address("fd00::1", ["2001:db8::1"], PROXIES) == "2001:db8::1"


def test_a_missing_or_garbled_header_leaves_the_peer() -> None:
    assert client_address("10.0.0.5", [], PROXIES) == "10.0.0.5"
    assert client_address("10.0.0.5", ["203.0.113.9, not-an-ip"], PROXIES) == "10.0.0.5"
    assert client_address("10.0.0.5", ["10.0.0.6"], PROXIES) == "10.0.0.6"
    assert client_address(None, ["203.0.113.9"], PROXIES) == "unknown"
