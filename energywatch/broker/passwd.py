"""Mosquitto's password hash: `$7$<iterations>$<salt b64>$<PBKDF2-HMAC-SHA512 b64>`.

This is the format `mosquitto_passwd` writes by default since Mosquitto 2.0 (12-byte salt,
64-byte derived key, standard base64 with padding). The broker reads the iteration count
from each line, so a higher count than `mosquitto_passwd`'s 101 is accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

PREFIX = "$7$"
SALT_BYTES = 12
DEFAULT_ITERATIONS = 1000


def hash_password(
    password: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> str:
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    key = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"{PREFIX}{iterations}${_b64(salt)}${_b64(key)}"


def verify_password(password_hash: str, password: str) -> bool:
    """True if `password` matches a `$7$` hash; False for a wrong password or another format."""
    parts = password_hash.split("$")
    if len(parts) != 5 or parts[0] or parts[1] != "7" or not parts[2].isdigit():
        return False
    try:
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    key = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, int(parts[2]))
    return hmac.compare_digest(key, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
