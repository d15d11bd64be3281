"""CSV that opens cleanly in a spreadsheet: UTF-8 without a BOM, RFC 4180
quoting and CRLF line ends, and any value that a spreadsheet would run as a
formula (it begins with ``=``, ``+``, ``-`` or ``@``) prefixed with a quote.

>>> safe("=HYPERLINK(\\"x\\")"), safe("-5"), safe("ada@example.com")
('\\'=HYPERLINK("x")', "'-5", 'ada@example.com')
"""

from __future__ import annotations

import csv
from typing import IO, Any

__all__ = ["FORMULA_FIRST", "FORMULA_STARTS", "safe", "writer"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_FIRST = frozenset(FORMULA_STARTS)  # ``value[:1] in FORMULA_FIRST``: a cheap test


def safe(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def writer(out: IO[str]) -> Any:
    """A ``csv.writer`` for RFC 4180 (open ``out`` with ``newline=""``)."""
    return csv.writer(out, dialect="excel", lineterminator="\r\n")
