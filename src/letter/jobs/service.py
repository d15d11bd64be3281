"""Enqueue, claim and settle jobs. Any service enqueues inside its own
transaction; the worker (``letter.worker``) claims and settles.

>>> enqueue(session, "imports.run", {"import_id": str(job_id)},
...         queue="imports", unique_key=f"import:{job_id}")     # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, delete, exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from letter.clock import utcnow
from letter.ids import uuid7
from letter.jobs.models import FINISHED, Job, JobState

__all__ = [
    "backoff",
    "cancel",
    "claim",
    "enqueue",
    "extend_lease",
    "mark_failed_attempt",
    "mark_succeeded",
    "prune_finished",
]

_JOBS = cast(Table, Job.__table__)
CLAIM_CANDIDATES = 8
KEEP_FINISHED = timedelta(days=7)


def enqueue(
    session: Session, kind: str, payload: dict[str, Any] | None = None, *,
    queue: str = "default", run_at: datetime | None = None, lock_key: str | None = None,
    unique_key: str | None = None, max_attempts: int = 5,
) -> uuid.UUID | None:
    """Add a queued job; returns its id, or None when ``unique_key`` already
    names a job (a second enqueue of the same work is a no-op)."""
    now = utcnow()
    row = {
        "id": uuid7(), "queue": queue, "kind": kind, "payload": payload or {},
        "state": JobState.QUEUED.value, "run_at": run_at or now, "attempts": 0,
        "max_attempts": max_attempts, "lock_key": lock_key, "unique_key": unique_key,
        "created_at": now, "updated_at": now,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(_JOBS).values(row)
    if unique_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["unique_key"])
    return session.execute(stmt.returning(_JOBS.c.id)).scalar_one_or_none()


def _lock_held(now: datetime) -> Any:
    other = aliased(Job)
    return exists().where(
        other.lock_key == Job.lock_key, other.id != Job.id,
        other.state == JobState.RUNNING, other.lease_expires_at >= now,
    )


def claim(
    session: Session, queues: list[str], owner: str, lease_seconds: float,
    now: datetime | None = None,
) -> Job | None:
    """Take one due job of these queues under a lease: a queued one whose time
    has come, or a running one whose lease expired (its worker crashed). Jobs
    whose lock key another running job holds wait."""
    now = now or utcnow()
    due = or_(
        and_(Job.state == JobState.QUEUED, Job.run_at <= now),
        and_(Job.state == JobState.RUNNING, Job.lease_expires_at < now),
    )
    stmt = (
        select(Job).where(Job.queue.in_(queues), due,
                          or_(Job.lock_key.is_(None), ~_lock_held(now)))
        .order_by(Job.run_at, Job.id).limit(CLAIM_CANDIDATES)
        .with_for_update(skip_locked=True, of=Job)
    )
    for job in session.scalars(stmt):
        try:
            with session.begin_nested():
                job.state = JobState.RUNNING
                job.lease_owner = owner
                job.lease_expires_at = now + timedelta(seconds=lease_seconds)
                job.attempts += 1
                job.updated_at = now
        except IntegrityError:
            # Another worker took a job with the same lock key a moment ago.
            session.expire(job)
            continue
        return job
    return None


def extend_lease(session: Session, job_id: uuid.UUID, owner: str, lease_seconds: float) -> bool:
    """Keep a long job's lease alive; False when the job is no longer ours."""
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.lease_owner == owner,
                          Job.state == JobState.RUNNING)
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _settle(session: Session, job_id: uuid.UUID, owner: str, **values: Any) -> bool:
    values.update(lease_owner=None, lease_expires_at=None, updated_at=utcnow())
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.lease_owner == owner,
                          Job.state == JobState.RUNNING).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_succeeded(session: Session, job_id: uuid.UUID, owner: str) -> bool:
    return _settle(session, job_id, owner, state=JobState.SUCCEEDED, finished_at=utcnow(),
                   last_error=None)


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s … capped at an hour."""
    return timedelta(seconds=min(3600, 2 ** max(1, attempts)))


def mark_failed_attempt(
    session: Session, job_id: uuid.UUID, owner: str, error: str,
    now: datetime | None = None,
) -> JobState | None:
    """Record a failed run: queued again after a backoff, or ``failed`` once
    its attempts are spent. Returns the new state (None if no longer ours)."""
    now = now or utcnow()
    job = session.get(Job, job_id)
    if job is None or job.lease_owner != owner or job.state != JobState.RUNNING:
        return None
    error = error[:4000]
    if job.attempts >= job.max_attempts:
        _settle(session, job_id, owner, state=JobState.FAILED, last_error=error, finished_at=now)
        return JobState.FAILED
    _settle(session, job_id, owner, state=JobState.QUEUED, last_error=error,
            run_at=now + backoff(job.attempts))
    return JobState.QUEUED


def cancel(session: Session, job_id: uuid.UUID) -> bool:
    """Cancel a job that has not finished; a running handler finds out when it
    next checks (its settle no longer matches)."""
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.state.not_in(FINISHED))
        .values(state=JobState.CANCELLED, finished_at=utcnow(), lease_owner=None,
                lease_expires_at=None, updated_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def prune_finished(session: Session, now: datetime | None = None, limit: int = 5000) -> int:
    """Delete a chunk of jobs that finished more than a week ago."""
    cutoff = (now or utcnow()) - KEEP_FINISHED
    stale = (select(Job.id).where(Job.state.in_(FINISHED), Job.finished_at < cutoff)
             .limit(limit))
    result = session.execute(delete(Job).where(Job.id.in_(stale)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
