"""An email node's ``sendWindow`` in the contact's time zone: when may it send?

Openings are computed as wall-clock times on each local day and only then
converted to UTC, so a window stays at 09:00 local across DST changes; a
start time that does not exist that day (spring forward) opens at the first
instant after the gap. ``start > end`` is an overnight window that opens on
the listed day.

>>> from datetime import UTC, datetime
>>> window = {"days": ["mon"], "start": "09:00", "end": "17:00"}
>>> next_allowed(datetime(2026, 3, 28, 12, tzinfo=UTC), window, "Europe/Paris").isoformat()
'2026-03-30T07:00:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["DAYS", "is_open", "next_allowed"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(text: str) -> time:
    return time(int(text[:2]), int(text[3:]))


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    # fold=0 puts a wall time inside a spring-forward gap just after the gap.
    return datetime.combine(day, clock, zone).astimezone(UTC)


def _intervals(now: datetime, window: dict[str, Any], zone: ZoneInfo
               ) -> list[tuple[datetime, datetime]]:
    days = set(window.get("days") or DAYS)
    start, end = _clock(window["start"]), _clock(window["end"])
    today = now.astimezone(zone).date()
    found = []
    for offset in range(-1, 9):
        day = today + timedelta(days=offset)
        if DAYS[day.weekday()] not in days:
            continue
        close_day = day if start < end else day + timedelta(days=1)
        found.append((_at(day, start, zone), _at(close_day, end, zone)))
    return found


def next_allowed(now: datetime, window: dict[str, Any], timezone: str) -> datetime:
    """``now`` when inside the window, else the window's next opening (UTC)."""
    zone = ZoneInfo(timezone)
    later = []
    for opens, closes in _intervals(now, window, zone):
        if opens <= now < closes:
            return now
        if opens > now:
            later.append(opens)
    return min(later)


def is_open(at: datetime, window: dict[str, Any], timezone: str) -> bool:
    """Whether the local wall clock at ``at`` is inside the window."""
    local = at.astimezone(ZoneInfo(timezone))
    days = set(window.get("days") or DAYS)
    start, end = _clock(window["start"]), _clock(window["end"])
    clock = local.time().replace(tzinfo=None)
    weekday = DAYS[local.weekday()]
    if start < end:
        return weekday in days and start <= clock < end
    yesterday = DAYS[(local.weekday() - 1) % 7]
    return (weekday in days and clock >= start) or (yesterday in days and clock < end)
