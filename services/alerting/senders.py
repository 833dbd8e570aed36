"""The two ways a notification leaves: a signed JSON webhook and an SMTP e-mail.

Webhook: POST of the payload as JSON with
    Idempotency-Key: <key>            the same on every retry of one notification
    X-EnergyWatch-Timestamp: <unix s>
    X-EnergyWatch-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>
A 2xx answer delivers; 408, 425, 429 and 5xx are retried; any other 4xx is final. A URL that
the webhook policy refuses (services/alerting/webhooks.py) is final too, and nothing is sent; the
request goes to the address that was checked, never to a second DNS answer.
E-mail: the Message-ID derives from the idempotency key, so a mail system can drop a repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from services.alerting.webhooks import Target, Unresolved, WebhookPolicy, WebhookRefused

RETRYABLE_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    final: bool = False  # a failure no retry can fix


class Sender(Protocol):
    def send(self, target: str, key: str, payload: dict[str, Any]) -> Outcome: ...


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (and the tests do) to check a webhook."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookSender:
    def __init__(
        self, secret: bytes, timeout_s: float = 5.0, policy: WebhookPolicy | None = None
    ) -> None:
        self.secret = secret
        self.policy = policy or WebhookPolicy()
        self.client = httpx.Client(timeout=timeout_s)

    def send(self, target: str, key: str, payload: dict[str, Any]) -> Outcome:
        try:
            checked = self.policy.target(target)
        except WebhookRefused as exc:
            return Outcome(False, None, str(exc), final=True)
        except Unresolved as exc:
            return Outcome(False, None, str(exc))
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "X-EnergyWatch-Event": str(payload.get("event", "")),
            "X-EnergyWatch-Timestamp": timestamp,
            "X-EnergyWatch-Signature": sign(self.secret, timestamp, body),
        }
        try:
            response = self._post_pinned(checked, body, headers)
        except httpx.HTTPError as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}")
        code = response.status_code
        if 200 <= code < 300:
            return Outcome(True, code)
        final = 400 <= code < 500 and code not in RETRYABLE_STATUS
        return Outcome(False, code, f"HTTP {code}: {response.text[:200]}", final)

    def _post_pinned(self, checked: Target, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST to the checked address; the Host header and the TLS server name (certificate
        check included) stay those of the URL's host."""
        url = httpx.URL(checked.url)
        return self.client.post(
            url.copy_with(host=checked.address),
            content=body,
            headers={**headers, "Host": url.netloc.decode("ascii")},
            extensions={"sni_hostname": url.raw_host.decode("ascii")},
        )

    def close(self) -> None:
        self.client.close()


class EmailSender:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password = starttls, username, password
        self.timeout_s = timeout_s

    def send(self, target: str, key: str, payload: dict[str, Any]) -> Outcome:
        message = render_email(self.sender, target, key, payload)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            return Outcome(False, None, f"recipient refused: {exc}", final=True)
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}")
        return Outcome(True, 250)


def render_email(sender: str, to: str, key: str, payload: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    event = payload.get("event", "")
    severity = str(payload.get("severity", "")).upper()
    message["Subject"] = (
        f"[EnergyWatch] {severity} {event}: {payload.get('rule')} {payload.get('subject')}"
    )
    message["From"] = sender
    message["To"] = to
    message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@energywatch>"
    message["X-EnergyWatch-Idempotency-Key"] = key
    lines = [
        f"Alert {payload.get('alert_id')} ({event})",
        f"Rule: {payload.get('rule')} ({payload.get('kind')})",
        f"Subject: {payload.get('subject')}",
        f"Value: {payload.get('value')} {payload.get('unit')} "
        f"(threshold {payload.get('threshold')})",
        f"Severity: {payload.get('severity')}",
        f"Fired at: {payload.get('fired_at')}",
    ]
    if payload.get("resolved_at"):
        lines.append(f"Resolved at: {payload.get('resolved_at')}")
    if payload.get("source"):
        lines.append(f"Standard: {payload.get('source')}")
    message.set_content(
        "\n".join(lines) + "\n\n" + json.dumps(payload, ensure_ascii=False, indent=2)
    )
    return message
