"""``sendWindow``: the next allowed instant, property-tested across DST
changes against an independent wall-clock check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
    assert is_open(found, window, zone)
    # Nothing open earlier: step through the gap a quarter hour at a time.
    at = now
    while at < found - timedelta(minutes=1):
        assert not is_open(at, window, zone), (at, window, zone)
        at += timedelta(minutes=15)


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
