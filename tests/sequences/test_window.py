"""``sendWindow``: the next allowed instant, property-tested across DST
changes against an independent wall-clock check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from letter.sequences.window import DAYS, is_open, next_allowed

ZONES = ["Europe/Paris", "America/New_York", "Australia/Sydney", "UTC", "Asia/Kolkata",
         "America/Santiago"]
# Instants around the 2026 DST changes of these zones (and ordinary days).
AROUND = [datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 3, 29, tzinfo=UTC),
          datetime(2026, 4, 5, tzinfo=UTC), datetime(2026, 10, 4, tzinfo=UTC),
          datetime(2026, 10, 25, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC),
          datetime(2026, 6, 15, tzinfo=UTC)]

clock = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 30]))
windows = st.builds(
    lambda days, start, end: {"days": days, "start": start, "end": end},
    st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True), clock, clock,
).filter(lambda w: w["start"] != w["end"])
instants = st.builds(lambda base, minutes: base + timedelta(minutes=minutes),
                     st.sampled_from(AROUND), st.integers(-3 * 1440, 3 * 1440))


@settings(max_examples=400, deadline=None)
@given(instants, windows, st.sampled_from(ZONES))
def test_next_allowed_is_the_first_open_instant(now, window, zone):
    found = next_allowed(now, window, zone)
    assert found >= now
    assert is_open(found, window, zone) or (found == now and _repeated(now, zone))
    # Nothing open earlier: step through the gap a quarter hour at a time.
    at = now
    while at < found - timedelta(minutes=1):
        assert _repeated(at, zone) or not is_open(at, window, zone), (at, window, zone)
        at += timedelta(minutes=15)


def _repeated(at: datetime, zone: str) -> bool:
    """Whether the local wall clock shows this time twice (the hour a
    fall-back night repeats). The window follows its openings and closings
    as instants (opening at the first 02:30, say); a wall-clock check cannot
    judge the second pass of that hour, so the property skips it."""
    local = at.astimezone(ZoneInfo(zone))
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def test_the_repeated_hour_follows_the_first_opening_and_closing():
    """Sydney falls back at 03:00 on 5 April 2026 (02:00-02:59 happen twice)."""
    opening = {"days": ["sun"], "start": "02:30", "end": "00:00"}
    first_0230 = datetime(2026, 4, 4, 15, 30, tzinfo=UTC)  # 02:30 AEDT
    assert next_allowed(datetime(2026, 4, 4, 15, 0, tzinfo=UTC), opening,
                        "Australia/Sydney") == first_0230
    second_0229 = datetime(2026, 4, 4, 16, 29, tzinfo=UTC)  # 02:29 AEST, after the opening
    assert next_allowed(second_0229, opening, "Australia/Sydney") == second_0229
    closing = {"days": ["sun"], "start": "00:00", "end": "02:30"}
    assert next_allowed(second_0229, closing, "Australia/Sydney") > second_0229


def test_a_nine_oclock_window_stays_at_nine_local_across_the_change():
    window = {"days": ["mon"], "start": "09:00", "end": "17:00"}
    before = next_allowed(datetime(2026, 3, 28, 12, tzinfo=UTC), window, "Europe/Paris")
    after = next_allowed(datetime(2026, 3, 31, 12, tzinfo=UTC), window, "Europe/Paris")
    assert before == datetime(2026, 3, 30, 7, tzinfo=UTC)  # CEST: UTC+2
    assert after == datetime(2026, 4, 6, 7, tzinfo=UTC)
    winter = next_allowed(datetime(2026, 3, 17, 12, tzinfo=UTC), window, "Europe/Paris")
    assert winter == datetime(2026, 3, 23, 8, tzinfo=UTC)  # CET: UTC+1


def test_a_start_inside_the_spring_gap_opens_just_after_it():
    window = {"days": ["sun"], "start": "02:30", "end": "05:00"}
    found = next_allowed(datetime(2026, 3, 29, 0, tzinfo=UTC), window, "Europe/Paris")
    assert found == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST


def test_an_overnight_window_opens_on_the_listed_day():
    window = {"days": ["fri"], "start": "22:00", "end": "06:00"}
    assert is_open(datetime(2026, 6, 13, 3, tzinfo=UTC), window, "UTC")  # Sat 03:00
    assert not is_open(datetime(2026, 6, 14, 3, tzinfo=UTC), window, "UTC")
