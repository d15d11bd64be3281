"""How Letter reads a JSON value: its string form, its number, its instant.

These rules are the single definition both the SQL compiler and the in-memory
evaluator implement (docs/segments.md states them for users):

>>> string_form(True), string_form(5), string_form(5.0), string_form(0.1), string_form(1.5e-07)
('true', '5', '5', '0.1', '0.00000015')
>>> as_number("12.50"), as_number("007"), as_number(True)
(Decimal('12.50'), None, None)
>>> as_instant("2026-05-16T11:00:00+02:00")
datetime.datetime(2026, 5, 16, 9, 0)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

__all__ = [
    "INSTANT_PATTERN",
    "NUMBER_PATTERN",
    "FilterValue",
    "as_instant",
    "as_number",
    "canonical_number",
    "instant_key",
    "string_form",
]

# A string "reads as a number" when it is a JSON number with at most three
# exponent digits (the bound keeps every database's numeric cast in range).
NUMBER_PATTERN = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]{1,3})?"
_NUMBER = re.compile(NUMBER_PATTERN)

# ISO-8601 instants: a date, optionally a time (T or space) with optional
# seconds and 1-6 fraction digits, optionally Z or a +HH:MM offset (no offset = UTC).
INSTANT_PATTERN = (
    r"([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9])(\.([0-9]{1,6}))?)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?"
)
_INSTANT = re.compile(INSTANT_PATTERN)


def canonical_number(value: Decimal) -> str:
    """Plain decimal notation without exponent or trailing zeros: 5.0 -> "5"."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def _json_number(value: int | float) -> Decimal:
    # repr() is the shortest text that round-trips, which is what JSON encoders
    # write and what PostgreSQL's jsonb keeps, so Decimal(repr(x)) is the stored number.
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def string_form(value: Any) -> str | None:
    """The text a scalar compares as; None for null, objects and arrays."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return canonical_number(_json_number(value))
    return None


def as_number(value: Any) -> Decimal | None:
    """The number a value counts as: a JSON number, or a string that reads as one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _json_number(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return Decimal(value)
    return None


def as_instant(value: Any) -> datetime | None:
    """The UTC instant (naive, millisecond precision) a string counts as, else None."""
    if not isinstance(value, str):
        return None
    m = _INSTANT.fullmatch(value)
    if m is None or m.group(1) == "0000":
        return None
    fraction = (m.group(10) or "").ljust(6, "0")
    try:
        at = datetime(
            int(m.group(1)), int(m.group(2)), int(m.group(3)),
            int(m.group(5) or 0), int(m.group(6) or 0), int(m.group(8) or 0),
            int(fraction[:3]) * 1000,
        )
        offset = m.group(11)
        if offset and offset != "Z":
            sign = -1 if offset[0] == "-" else 1
            delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
            at = at.replace(tzinfo=timezone(sign * delta)).astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):  # 31 April, or out of datetime's range
        return None
    return at


def instant_key(at: datetime) -> str:
    """The sortable text SQLite compares instants by: ``YYYY-MM-DD HH:MM:SS.mmm``."""
    return at.strftime("%Y-%m-%d %H:%M:%S.") + f"{at.microsecond // 1000:03d}"


@dataclass(frozen=True)
class FilterValue:
    """A filter's ``value``, classified once: its string form, number and instant."""

    text: str
    number: Decimal | None
    instant: datetime | None

    @classmethod
    def of(cls, value: str | int | float | bool) -> FilterValue:
        text = string_form(value)
        assert text is not None
        number = as_number(value)
        return cls(text, number, None if number is not None else as_instant(text))

    @property
    def only_strings_match(self) -> bool:
        """True when only a JSON string can have this string form (not a number,
        boolean, object or array): equality is then a plain text comparison."""
        return (as_number(self.text) is None and self.text not in ("true", "false")
                and self.text[:1] not in ("[", "{"))

    @property
    def exact_number(self) -> Decimal | None:
        """The number whose string form is exactly ``text`` (for equality), if any."""
        number = as_number(self.text)
        if number is None or canonical_number(number) != self.text:
            return None
        if "." in self.text and canonical_number(Decimal(repr(float(self.text)))) != self.text:
            return None  # more digits than a stored double can carry: no number equals it
        return number
