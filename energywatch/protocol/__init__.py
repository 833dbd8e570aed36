"""The wire contract between edge agents and the ingest service (see docs/protocol.md).

Kept free of server dependencies: the edge agent imports it on small gateways.
"""

from energywatch.protocol.payload import (
    MAX_MESSAGE_BYTES,
    CommitAck,
    Quality,
    Reading,
    ReadingsMessage,
    StatusMessage,
)
from energywatch.protocol.topics import DEFAULT_PREFIX, DeviceTopics, parse_topic

__all__ = [
    "DEFAULT_PREFIX",
    "MAX_MESSAGE_BYTES",
    "CommitAck",
    "DeviceTopics",
    "Quality",
    "Reading",
    "ReadingsMessage",
    "StatusMessage",
    "parse_topic",
]
