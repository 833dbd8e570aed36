"""Password hashing with Argon2id, for people and devices.

Parameters: m = 19 MiB, t = 2, p = 1, the first configuration the OWASP Password Storage Cheat
Sheet recommends for Argon2id. argon2-cffi's default is RFC 9106's "low memory" option, 64 MiB
per hash, which the API process would hold for every login in flight: a burst of logins then
dominates its memory. Each hash string carries its own parameters, so hashes made with other
ones still verify; `needs_rehash` tells a caller to store a fresh one after a good login.

At most `MAX_CONCURRENT` hashes are computed at once per process (the others wait), which
bounds the memory they take whatever the number of request threads.
"""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MAX_CONCURRENT = 2

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_slots = threading.BoundedSemaphore(MAX_CONCURRENT)


def hash_password(password: str) -> str:
    with _slots:
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        with _slots:
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False
