"""SQL functions Letter adds to every SQLite connection (registered by ``db.engine``).

They run the exact Python rules of ``values.py`` where SQLite's own date and
number formatting would differ:

- ``letter_instant(text)``: the instant a string reads as, as sortable text
  (``YYYY-MM-DD HH:MM:SS.mmm`` UTC), or NULL.
- ``letter_number_text(json_number_literal)``: the string form of a JSON number.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from letter.values import as_instant, canonical_number, instant_key

__all__ = ["install"]


def _instant(text: Any) -> str | None:
    at = as_instant(text)
    return None if at is None else instant_key(at)


def _number_text(literal: Any) -> str | None:
    if literal is None:
        return None
    try:
        return canonical_number(Decimal(str(literal)))
    except InvalidOperation:
        return None


def install(dbapi_conn: Any) -> None:
    """Register the functions on one sqlite3 connection."""
    dbapi_conn.create_function("letter_instant", 1, _instant, deterministic=True)
    dbapi_conn.create_function("letter_number_text", 1, _number_text, deterministic=True)
