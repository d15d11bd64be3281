"""Chaos under load, reduced for CI: clients ingest (batches, identifies and
tracks, each retried with its messageId) and use the Management API while a
broadcast sends to a segment and a published sequence welcomes every
sign-up; meanwhile an API process and a worker are SIGKILLed (and
restarted) and PostgreSQL restarts. Afterwards every acknowledged event is
stored exactly once and every acknowledged contact exists, every broadcast
recipient got the email (duplicates only within the batch in flight at the
kill), every sign-up's enrolment completed with one welcome email, and no
5xx was answered outside the database restart.

``bench/soak.py`` runs the same at full size."""

from __future__ import annotations

import os

import pytest

from tests.conftest import PG_URL
from tests.reliability.chaos.run import Plan, run_chaos

pytestmark = pytest.mark.skipif(not PG_URL, reason="the scaled-out layout runs on PostgreSQL")


def test_no_loss_and_no_duplicate_beyond_the_in_flight_batch_under_faults() -> None:
    plan = Plan(duration=float(os.environ.get("LETTER_CHAOS_SECONDS", "30")),
                rate=float(os.environ.get("LETTER_CHAOS_RATE", "20")), audience=600)
    report = run_chaos(plan)
    print("\n" + "\n".join(report.lines()))
    kinds = sorted(what.split(" (")[0] for _, what in report.faults)
    assert kinds == ["API process restarted", "PostgreSQL restart", "SIGKILL API process",
                     "SIGKILL worker", "broadcast scheduled", "worker restarted"], kinds
    assert report.problems == []
    assert report.figures["events lost"] == 0 and report.figures["contacts lost"] == 0
