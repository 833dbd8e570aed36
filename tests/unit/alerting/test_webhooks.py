"""The webhook policy (pure: the resolver is given, standing in for DNS)."""

from __future__ import annotations

import pytest

from services.alerting.webhooks import Unresolved, WebhookPolicy, WebhookRefused


def dns(answers: dict[str, list[str]]):
    def resolver(host: str, port: int) -> list[str]:
        if host not in answers:
            raise Unresolved(f"webhook host {host} does not resolve")
        return answers[host]

    return resolver


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://127.0.0.1:8080/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://[fd00::1]/", "private"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://240.0.0.1/", "reserved"),
        ("http://100.64.0.1/", "non-public"),
        ("http://inside.test/", "inside.test resolves to 10.1.1.1 is a private"),
        ("http://split.test/", "split.test resolves to 192.168.0.1 is a private"),
        ("ftp://8.8.8.8/", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http:///nohost", "names no host"),
        ("http://8.8.8.8:99999/", "not a valid URL"),
    ],
)
def test_refused_with_one_line_reason(url: str, reason: str) -> None:
    policy = WebhookPolicy(
        resolver=dns({"inside.test": ["10.1.1.1"], "split.test": ["8.8.8.8", "192.168.0.1"]})
    )
    with pytest.raises(WebhookRefused) as refused:
        policy.target(url)
    assert reason in str(refused.value) and "\n" not in str(refused.value)


def test_public_addresses_and_allowed_networks_pass() -> None:
    policy = WebhookPolicy.allowing(["10.20.0.0/16"], dns({"hooks.test": ["10.20.3.4"]}))
    assert policy.target("https://hooks.test:8443/x").address == "10.20.3.4"
    assert policy.target("https://8.8.8.8/x").address == "8.8.8.8"
    with pytest.raises(WebhookRefused):
        policy.target("http://10.21.0.1/")


def test_a_host_that_does_not_resolve_is_stored_but_not_delivered() -> None:
    policy = WebhookPolicy(resolver=dns({}))
    policy.check_stored("https://not-yet.test/hook")
    with pytest.raises(Unresolved):
        policy.target("https://not-yet.test/hook")
