"""Time-ordered UUIDs (v7) so primary keys index in insertion order."""

from __future__ import annotations

import os
import time
import uuid

__all__ = ["uuid7", "uuid7_batch", "uuid7_ints"]


def uuid7() -> uuid.UUID:
    """Return a RFC 9562 version-7 UUID: 48-bit Unix ms timestamp, then random bits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & 0x3FFF_FFFF_FFFF_FFFF
    return uuid.UUID(int=value)


_new = object.__new__
_set = object.__setattr__


def uuid7_ints(count: int) -> list[int]:
    """``count`` version-7 UUIDs of this millisecond as integers, in increasing
    order (rows inserted in this order keep it in the id index): one clock
    read and one read of randomness. ``f"{n:032x}"`` is SQLite's stored form."""
    ms = time.time_ns() // 1_000_000
    head = ((ms & 0xFFFF_FFFF_FFFF) << 80) | (0x7 << 76) | (0b10 << 62)
    raw = os.urandom(10 * count)
    values = []
    for start in range(0, 10 * count, 10):
        rand = int.from_bytes(raw[start:start + 10], "big")
        values.append(head | ((rand >> 62) & 0xFFF) << 64 | (rand & 0x3FFF_FFFF_FFFF_FFFF))
    values.sort()
    return values


def uuid7_batch(count: int) -> list[uuid.UUID]:
    """``count`` version-7 UUIDs of this millisecond, in increasing order, for
    bulk inserts, without re-validating each value (``uuid.UUID(int=…)``
    checks what is built right here)."""
    unknown = uuid.SafeUUID.unknown
    found = []
    for number in uuid7_ints(count):
        value = _new(uuid.UUID)
        _set(value, "int", number)
        _set(value, "is_safe", unknown)
        found.append(value)
    return found
