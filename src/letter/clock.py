"""One place that says what time it is, in UTC, and how instants are written."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["as_utc", "iso", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """The one rule for instants that come in: a naive one means UTC.

    >>> as_utc(datetime(2030, 1, 1)).isoformat()
    '2030-01-01T00:00:00+00:00'
    """
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """Format an instant as the API writes it: ``2026-05-16T09:00:00.000Z``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
