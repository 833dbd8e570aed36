"""Why a message or a reading was refused: the reason codes of the dead-letter table."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # Whole message refused.
    OVERSIZED = "oversized"  # larger than MAX_MESSAGE_BYTES
    BAD_JSON = "bad_json"  # not UTF-8 JSON
    BAD_TOPIC = "bad_topic"  # not {prefix}/{site}/{device}/readings
    SCHEMA = "schema"  # envelope or a reading breaks the payload schema (type, field, range)
    UNKNOWN_DEVICE = "unknown_device"  # site or device of the topic not registered
    # One reading refused, the rest of its message kept.
    NON_FINITE = "non_finite"  # NaN, Infinity or a number too large for a double
    UNKNOWN_POINT = "unknown_point"  # no point of that code anywhere
    POINT_OTHER_SITE = "point_other_site"  # the code belongs to another site only
    POINT_OTHER_DEVICE = "point_other_device"  # the point belongs to another device of the site
    UNIT_MISMATCH = "unit_mismatch"  # `u` differs from the point's registered unit
    FUTURE_TIMESTAMP = "future_timestamp"  # more than ingest.future_skew_s ahead of the clock
    # Found while writing.
    CONFLICT = "conflict"  # a different value already stored for (point, ts); the first is kept
    INTERNAL_ERROR = "internal_error"  # ingest failed on this message (a bug); kept for replay
