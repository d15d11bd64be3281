"""The jobs table: enqueue, unique keys, claims under a lease, lock keys,
backoff and the final failure — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from letter.clock import utcnow
from letter.jobs import Job, JobState, cancel, enqueue
from letter.jobs import service as jobs


def test_a_unique_key_makes_a_second_enqueue_a_no_op(db):
    with db.session() as session:
        first = enqueue(session, "imports.run", {"n": 1}, unique_key="import:1")
        again = enqueue(session, "imports.run", {"n": 2}, unique_key="import:1")
        other = enqueue(session, "imports.run", {"n": 3})
        assert first is not None and again is None and other is not None
        rows = session.scalars(select(Job).order_by(Job.created_at)).all()
        assert [r.payload["n"] for r in rows] == [1, 3]
        assert all(r.state == JobState.QUEUED for r in rows)


def test_claim_takes_due_jobs_of_its_queues_only(db):
    now = utcnow()
    with db.session() as session:
        enqueue(session, "a", queue="imports")
        later = enqueue(session, "b", run_at=now + timedelta(minutes=5))
        due = enqueue(session, "c")
    with db.session() as session:
        job = jobs.claim(session, ["default"], "w1", 3600, now=now + timedelta(seconds=1))
        assert job is not None and job.id == due
        assert job.state == JobState.RUNNING and job.lease_owner == "w1" and job.attempts == 1
    with db.session() as session:
        assert jobs.claim(session, ["default"], "w2", 30, now=now + timedelta(seconds=1)) is None
        job = jobs.claim(session, ["default"], "w2", 30, now=now + timedelta(minutes=6))
        assert job is not None and job.id == later


def test_an_expired_lease_is_claimed_again(db):
    with db.session() as session:
        job_id = enqueue(session, "k")
    now = utcnow()
    with db.session() as session:
        assert jobs.claim(session, ["default"], "dead", 10, now=now) is not None
    with db.session() as session:
        assert jobs.claim(session, ["default"], "w2", 10, now=now + timedelta(seconds=5)) is None
        job = jobs.claim(session, ["default"], "w2", 10, now=now + timedelta(seconds=11))
        assert job is not None and job.id == job_id and job.attempts == 2
        # The dead worker can no longer settle what it no longer owns.
        assert not jobs.mark_succeeded(session, job_id, "dead")
        assert jobs.mark_succeeded(session, job_id, "w2")
        assert session.get(Job, job_id).state == JobState.SUCCEEDED


def test_one_running_job_per_lock_key(db):
    with db.session() as session:
        first = enqueue(session, "sync", lock_key="project:1")
        second = enqueue(session, "sync", lock_key="project:1")
        free = enqueue(session, "sync", lock_key="project:2")
    now = utcnow()
    with db.session() as session:
        assert jobs.claim(session, ["default"], "w1", 30, now=now).id == first
    with db.session() as session:
        # project:1 is held by the running first job: the second waits.
        assert jobs.claim(session, ["default"], "w2", 30, now=now).id == free
        assert jobs.claim(session, ["default"], "w2", 30, now=now) is None
        assert jobs.mark_succeeded(session, first, "w1")
    with db.session() as session:
        assert jobs.claim(session, ["default"], "w2", 30, now=now).id == second


def test_failed_attempts_back_off_then_fail_with_the_error(db):
    with db.session() as session:
        job_id = enqueue(session, "flaky", max_attempts=3)
    now = utcnow()
    at = now
    for attempt in (1, 2, 3):
        with db.session() as session:
            job = jobs.claim(session, ["default"], "w", 30, now=at)
            assert job is not None and job.attempts == attempt
            state = jobs.mark_failed_attempt(session, job_id, "w", f"boom {attempt}", now=at)
            job = session.get(Job, job_id)
            if attempt < 3:
                assert state == JobState.QUEUED
                assert job.run_at == at + jobs.backoff(attempt)
                assert jobs.backoff(2) == 2 * jobs.backoff(1)
                at = job.run_at
            else:
                assert state == JobState.FAILED and job.finished_at is not None
            assert job.last_error == f"boom {attempt}"
    with db.session() as session:
        assert jobs.claim(session, ["default"], "w", 30, now=at + timedelta(days=1)) is None


def test_cancel_stops_queued_and_running_jobs(db):
    with db.session() as session:
        queued = enqueue(session, "x")
        assert cancel(session, queued)
        assert not cancel(session, queued)
        assert session.get(Job, queued).state == JobState.CANCELLED
        assert jobs.claim(session, ["default"], "w", 30) is None


def test_finished_jobs_are_pruned_after_a_week(db):
    with db.session() as session:
        old = enqueue(session, "x")
        fresh = enqueue(session, "y")
        for job_id in (old, fresh):
            cancel(session, job_id)
        session.get(Job, old).finished_at = utcnow() - timedelta(days=8)
        session.flush()
        assert jobs.prune_finished(session) == 1
        assert [j.id for j in session.scalars(select(Job))] == [fresh]
