"""Deep trait merge: how an identify or group combines with what is stored.

Nested objects merge key by key; scalars and arrays from the incoming call
replace; a key sent as ``null`` is kept with the value null. There is no
replace mode, so a bad re-run cannot erase data.

>>> deep_merge({"plan": "free", "address": {"city": "Paris", "zip": "75001"}},
...            {"plan": "pro", "address": {"city": "Lyon"}, "nickname": None})
{'plan': 'pro', 'address': {'city': 'Lyon', 'zip': '75001'}, 'nickname': None}
"""

from __future__ import annotations

from typing import Any

__all__ = ["deep_merge"]


def deep_merge(stored: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """A new dict: ``stored`` with ``incoming`` merged in (neither is modified)."""
    merged = dict(stored)
    for key, value in incoming.items():
        current = merged.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged
