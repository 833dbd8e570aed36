"""MQTT client ids: unique per installation, the same on every start of one installation.

A broker keeps one session per client id, and a second connection with the same id takes the
session over (MQTT 5 reason 142). Two installations sharing a broker must therefore never use the
same ids, and one installation must use the same ids after a restart, or its persistent sessions
(and the messages queued in them) would be orphaned.

- An edge agent's id is `ew-edge-{site}-{device}-{h}`, `h` a hash of the topic prefix: the prefix
  is the namespace an installation owns on a broker (two installations with one prefix would
  read each other's readings whatever their ids), and `energywatch mqtt acl` knows it too, so the
  broker can bind each device account to exactly this id.
- An ingest worker's id is `ew-ingest-{installation}-{worker}`, where `installation` is a setting
  or a hash of the database (host, port, name) and the topic prefix.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

_HASH_CHARS = 8


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_CHARS]


def edge_client_id(prefix: str, site: str, device: str) -> str:
    return f"ew-edge-{site}-{device}-{_short_hash(prefix)}"


def derived_installation_id(database_url: str, prefix: str) -> str:
    """A hash of where an installation keeps its data and its topics; credentials and query
    options are left out, so a changed password does not change the id."""
    parts = urlsplit(database_url)
    location = parts.netloc.rpartition("@")[2]
    return _short_hash(f"{location}{parts.path}|{prefix}")


def ingest_client_id(installation: str, worker: str) -> str:
    return f"ew-ingest-{installation}-{worker}"
