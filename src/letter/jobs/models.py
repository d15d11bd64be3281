"""The ``jobs`` table: every piece of background work is a row a worker claims.

States (``JobState``): ``queued`` → ``running`` (claimed under a lease) →
``succeeded``; a failed run goes back to ``queued`` with a backoff until its
attempts run out, then ``failed``; ``cancelled`` by whoever owns the work.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from letter.clock import utcnow
from letter.db.base import Base, created_at_column, id_column

__all__ = ["Job", "JobState"]


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index(None, "queue", "state", "run_at"),
        Index(None, "state", "lease_expires_at"),
        Index(None, "unique_key", unique=True),
        # One running job per lock key: a second claimer's update fails here.
        Index(
            "ix_jobs_running_lock_key", "lock_key", unique=True,
            postgresql_where=text("state = 'running' AND lock_key IS NOT NULL"),
            sqlite_where=text("state = 'running' AND lock_key IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = id_column()
    queue: Mapped[str] = mapped_column(String(32), default="default")
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    last_error: Mapped[str | None] = mapped_column(Text)
    lock_key: Mapped[str | None] = mapped_column(String(200))
    unique_key: Mapped[str | None] = mapped_column(String(200))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]
