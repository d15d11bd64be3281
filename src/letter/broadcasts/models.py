"""A broadcast and its states.

``draft`` → ``scheduled`` → ``sending`` → ``sent``; ``paused`` (by a user, or
held because its time passed while Letter was down) and ``cancelled``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from letter.clock import utcnow
from letter.db.base import Base, created_at_column, id_column

__all__ = ["EDITABLE", "Broadcast", "BroadcastStatus"]


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    PAUSED = "paused"
    CANCELLED = "cancelled"


EDITABLE = frozenset({BroadcastStatus.DRAFT})


class Broadcast(Base):
    __tablename__ = "broadcasts"
    __table_args__ = (Index(None, "project_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="Untitled broadcast")
    status: Mapped[str] = mapped_column(String(16), default=BroadcastStatus.DRAFT)
    subject: Mapped[str | None] = mapped_column(Text)
    preview: Mapped[str | None] = mapped_column(Text)
    body_doc: Mapped[dict[str, Any] | None]
    audience: Mapped[dict[str, Any] | None]
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("templates.id", ondelete="SET NULL"))
    # Topics are owned elsewhere: stored now, used for filtering once they exist.
    topic_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    from_email: Mapped[str | None] = mapped_column(String(320))
    scheduled_at: Mapped[datetime | None]
    # With local_time, scheduled_at's wall-clock time is read in each contact's zone.
    local_time: Mapped[bool] = mapped_column(Boolean, default=False)
    wall_time: Mapped[str | None] = mapped_column(String(32))
    # When the audience snapshot is due (the earliest zone's moment for local_time).
    starts_at: Mapped[datetime | None]
    paused_reason: Mapped[str | None] = mapped_column(Text)
    # The snapshot's saved position: the last contact id written to the outbox.
    snapshot_after: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    snapshot_done: Mapped[bool] = mapped_column(Boolean, default=False)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
