"""Identifier checks: the unified social credit code (GB 32100-2015) and division codes."""

from __future__ import annotations

import re

# GB 32100-2015: 31 characters, without I, O, Z, S, V.
CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_DIVISION = re.compile(r"^[1-9][0-9]{5}$")


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code, from the first 17."""
    total = sum(CREDIT_CHARSET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARSET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why `code` is not a valid unified social credit code, or None if it is."""
    if len(code) != 18:
        return f"must be 18 characters, got {len(code)}"
    bad = sorted({c for c in code if c not in CREDIT_CHARSET})
    if bad:
        return f"contains characters outside GB 32100-2015: {''.join(bad)}"
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        return f"check digit is {code[17]!r}, expected {expected!r}"
    # The administrative division code sits in positions 3-8.
    if not _DIVISION.match(code[2:8]):
        return f"positions 3-8 ({code[2:8]}) are not a division code"
    return None


def division_code_problem(code: str) -> str | None:
    if not _DIVISION.match(code):
        return "must be 6 digits, not starting with 0 (GB/T 2260 administrative division code)"
    return None
