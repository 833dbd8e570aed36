"""MQTT topic names: `{prefix}/{site}/{device}/{channel}`."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PREFIX = "ew/v1"
CHANNELS = ("readings", "status", "cmd", "ack")

# Site and device codes become topic levels, so MQTT wildcards and separators are refused.
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def check_code(kind: str, code: str) -> str:
    if not _CODE.match(code):
        raise ValueError(
            f"{kind} code {code!r} must be 1-64 characters of letters, digits, '_', '.', '-'"
        )
    return code


@dataclass(frozen=True)
class DeviceTopics:
    """The topics of one device."""

    site: str
    device: str
    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        check_code("site", self.site)
        check_code("device", self.device)
        if not self.prefix or any(c in self.prefix for c in "+#"):
            raise ValueError(f"topic prefix {self.prefix!r} must be non-empty without wildcards")

    def _topic(self, channel: str) -> str:
        return f"{self.prefix}/{self.site}/{self.device}/{channel}"

    @property
    def readings(self) -> str:
        return self._topic("readings")

    @property
    def status(self) -> str:
        return self._topic("status")

    @property
    def cmd(self) -> str:
        return self._topic("cmd")

    @property
    def ack(self) -> str:
        """Where ingest confirms the messages it has committed (`CommitAck`)."""
        return self._topic("ack")


def readings_subscription(prefix: str = DEFAULT_PREFIX, share_group: str | None = "ingest") -> str:
    """The filter ingest subscribes to; a shared subscription splits load between workers."""
    topic = f"{prefix}/+/+/readings"
    return f"$share/{share_group}/{topic}" if share_group else topic


def parse_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> tuple[str, str, str] | None:
    """Return (site, device, channel) of a topic under `prefix`, or None if it is not one."""
    if not topic.startswith(prefix + "/"):
        return None
    parts = topic[len(prefix) + 1 :].split("/")
    if len(parts) != 3 or parts[2] not in CHANNELS or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1], parts[2]
