"""SQL that reads a text as an ISO-8601 instant, exactly like ``values.as_instant``.

The result is the sortable key ``YYYY-MM-DD HH:MM:SS.mmm`` (UTC, milliseconds
truncated; ``values.instant_key``) or NULL when the text is not an instant, so
instants compare as plain text on both databases.

Common shapes are handled with cheap string operations (a date, or a UTC
time); only texts with a non-UTC offset need a real date parse: a timestamptz
cast on PostgreSQL, the ``letter_instant`` function on SQLite (which also
covers the rarer shapes there, as SQLite has no regular expressions).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
)
from sqlalchemy.sql.elements import ColumnElement

from letter.values import INSTANT_PATTERN

__all__ = ["date_shaped", "instant_key_sql", "non_capturing"]

Expr = ColumnElement[Any]
_DATE_GLOB = "[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]"
_UTC_GLOBS = (  # YYYY-MM-DDTHH:MM:SSZ and YYYY-MM-DDTHH:MM:SS.mmmZ (JavaScript's toISOString)
    _DATE_GLOB + "T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z",
    _DATE_GLOB + "T[0-2][0-9]:[0-5][0-9]:[0-5][0-9].[0-9][0-9][0-9]Z",
)


def non_capturing(pattern: str) -> str:
    """The same regular expression without capture groups (PostgreSQL runs those faster)."""
    return re.sub(r"\((?!\?)", "(?:", pattern)




def _int(text: Expr, start: int, length: int) -> Expr:
    return cast(func.substr(text, start, length), Integer())


def _valid_day(text: Expr) -> Expr:
    """Day 01..last day of the month, for a text whose month is 01-12."""
    year = _int(text, 1, 4)
    leap = case((and_(year % 4 == 0, or_(year % 100 != 0, year % 400 == 0)), 1), else_=0)
    month = func.substr(text, 6, 2)
    last = case((month == "02", 28 + leap), (month.in_(("04", "06", "09", "11")), 30), else_=31)
    return and_(func.substr(text, 9, 2) >= "01", _int(text, 9, 2) <= last)


def _valid_date(text: Expr) -> Expr:
    return and_(func.substr(text, 1, 4) != "0000", func.substr(text, 6, 2) >= "01",
                func.substr(text, 6, 2) <= "12", _valid_day(text))


def _key_of_utc(core: Expr) -> Expr:
    """Key of ``YYYY-MM-DD[T ]HH:MM[:SS[.f+]]`` with no zone (already UTC)."""
    seconds = case((func.length(core) >= 19, func.substr(core, 18, 2)), else_=literal("00"))
    millis = func.substr(func.substr(core, 21, 3).concat("000"), 1, 3)
    return (func.substr(core, 1, 10).concat(" ").concat(func.substr(core, 12, 5))
            .concat(":").concat(seconds).concat(".").concat(millis))


def _sqlite(text: Expr) -> Expr:
    # SQLite's date functions normalise impossible dates (2026-02-30 -> 2026-03-02)
    # once a modifier is applied, so a text that formats back to itself is a real date.
    glob = text.op("GLOB", return_type=Boolean)
    real = text >= "0001"
    same = func.strftime
    # days 01-28 of months 01-12 always exist: skip the date() call for them
    common_day = and_(func.substr(text, 6, 2).between("01", "12"),
                      func.substr(text, 9, 2).between("01", "28"))
    return case(
        (glob(_DATE_GLOB), case((and_(real, or_(common_day, func.date(text, "+0 days") == text)),
                                 text.concat(" 00:00:00.000")))),
        (glob(_UTC_GLOBS[1]), case((and_(real, same("%Y-%m-%dT%H:%M:%fZ", text, "+0 days")
                                         == text), same("%Y-%m-%d %H:%M:%f", text)))),
        (glob(_UTC_GLOBS[0]), case((and_(real, same("%Y-%m-%dT%H:%M:%SZ", text, "+0 days")
                                         == text), same("%Y-%m-%d %H:%M:%f", text)))),
        (glob(_DATE_GLOB + "*"), func.letter_instant(text)),
    )


def _postgres(text: Expr) -> Expr:
    size = func.length(text)
    zone_len = case((func.right(text, 1) == "Z", 1),
                    (and_(size > 16, func.substr(text, size - 5, 1).in_(("+", "-"))), 6),
                    else_=0)
    zone = func.right(text, zone_len)
    utc = or_(zone_len == 0, zone.in_(("Z", "+00:00", "-00:00")))
    shifted = func.to_char(func.timezone("UTC", cast(text, DateTime(timezone=True))),
                           "YYYY-MM-DD HH24:MI:SS.MS")
    key = case((utc, _key_of_utc(func.substr(text, 1, size - zone_len))), else_=shifted)
    matches = text.collate("C").op("~", return_type=Boolean)
    return case(
        (date_shaped(text, "postgresql"),
         case((_valid_date(text), text.concat(" 00:00:00.000")))),
        # cheap rejections before the full pattern: too short or long, no date start
        (or_(size < 16, size > 32, func.substr(text, 5, 1) != "-"), None),
        (matches(f"^{non_capturing(INSTANT_PATTERN)}$"), case((_valid_date(text), key))),
    )


def date_shaped(text: Any, dialect: str) -> Expr:
    """True for texts shaped like ``YYYY-MM-DD`` (a real date or not)."""
    if dialect == "postgresql":
        return text.collate("C").op("~", return_type=Boolean)("^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    return text.op("GLOB", return_type=Boolean)("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]")


def instant_key_sql(text: Any, dialect: str) -> Expr:
    """The instant key of a SQL text expression, or NULL if it is not an instant."""
    return _postgres(text) if dialect == "postgresql" else _sqlite(text)
