"""Tables of sequences: the editable sequence, its immutable published
versions, each contact's enrolment, and the outbox message each email step
queued (unique per enrolment and node, so a re-run step never sends twice).

States are StrEnums here and nowhere else: ``SequenceStatus`` (``active`` /
``archived``) and ``EnrollmentState`` (``active`` → ``waiting`` ⇄ ``active``
→ ``completed`` / ``exited`` / ``failed``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from letter.clock import utcnow
from letter.db.base import Base, created_at_column, id_column

__all__ = [
    "RUNNING",
    "Enrollment",
    "EnrollmentMessage",
    "EnrollmentState",
    "Sequence",
    "SequenceIndexVersion",
    "SequenceStatus",
    "SequenceVersion",
]


class SequenceStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class EnrollmentState(StrEnum):
    ACTIVE = "active"  # due to run its current node
    WAITING = "waiting"  # in a wait, a wait_event or outside an email's send window
    COMPLETED = "completed"
    EXITED = "exited"
    FAILED = "failed"


RUNNING = (EnrollmentState.ACTIVE, EnrollmentState.WAITING)
_RUNNING_SQL = "state IN ('active', 'waiting')"


class Sequence(Base):
    __tablename__ = "sequences"
    __table_args__ = (Index(None, "project_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=SequenceStatus.ACTIVE)
    trigger: Mapped[dict[str, Any] | None]
    draft_graph: Mapped[dict[str, Any]]
    draft_revision: Mapped[int] = mapped_column(Integer, default=0)
    # no foreign key: versions reference their sequence, and a cycle of keys
    # would need deferred constraints on PostgreSQL
    published_version_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SequenceVersion(Base):
    """A published snapshot: never updated."""

    __tablename__ = "sequence_versions"
    __table_args__ = (UniqueConstraint("project_id", "sequence_id", "version_number"),)

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    sequence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sequences.id", ondelete="CASCADE"))
    version_number: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[dict[str, Any]]
    graph: Mapped[dict[str, Any]]
    published_by: Mapped[uuid.UUID | None]
    published_at: Mapped[datetime] = created_at_column()


class Enrollment(Base):
    """One contact's run through one version. The pump claims rows whose
    ``next_run_at`` has come, in the same transaction that advances them."""

    __tablename__ = "enrollments"
    __table_args__ = (
        Index(None, "state", "next_run_at"),
        Index(None, "project_id", "contact_id"),
        Index(None, "project_id", "sequence_id", "created_at"),
        # At most one running enrolment per (sequence, contact).
        Index("ix_enrollments_running", "project_id", "sequence_id", "contact_id", unique=True,
              sqlite_where=text(_RUNNING_SQL), postgresql_where=text(_RUNNING_SQL)),
    )

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    sequence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sequences.id", ondelete="CASCADE"))
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sequence_versions.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default=EnrollmentState.ACTIVE)
    next_run_at: Mapped[datetime | None]
    waiting_since: Mapped[datetime | None]
    # "received" once the awaited event came (set at ingestion, taken by the pump)
    resume: Mapped[str | None] = mapped_column(String(16))
    event: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the triggering event
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class EnrollmentMessage(Base):
    """The outbox message an email step queued; the unique key makes a
    retried or re-run step fail to queue a second one."""

    __tablename__ = "enrollment_messages"
    __table_args__ = (
        UniqueConstraint("project_id", "enrollment_id", "node_id"),
        Index(None, "project_id", "sequence_id", "node_id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    sequence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sequences.id", ondelete="CASCADE"))
    enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()


class SequenceIndexVersion(Base):
    """Bumped on every publish, archive, restore and delete: each process
    compares it with its cached trigger index (one indexed read per
    ingestion transaction) and reloads on a change."""

    __tablename__ = "sequence_index_versions"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
