"""The outbox: every email Letter sends to a contact, and its state history.

States: ``queued`` → ``sending`` (claimed under a lease) → ``sent`` →
``delivered`` / ``opened`` / ``clicked`` / ``bounced`` / ``complained``; or
``suppressed`` / ``failed`` / ``cancelled`` (``MessageState``). ``held`` is a
queued message its owner has paused (a paused broadcast): the claim, which
takes only ``queued`` rows, passes it by until it is released. System emails
(``kind="system"``: invitations, import and export notices) belong to no
project. ``priority`` orders the claim:
transactional and test messages (0) go ahead of bulk ones (1).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from letter.clock import utcnow
from letter.db.base import Base, created_at_column, id_column

__all__ = [
    "KINDS", "PRIORITY", "Message", "MessageCounter", "MessageEvent", "MessageKind",
    "MessageState", "SendDay",
]


class MessageState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    SUPPRESSED = "suppressed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    HELD = "held"


class MessageKind(StrEnum):
    TRANSACTIONAL = "transactional"
    TEST = "test"
    BULK = "bulk"
    SYSTEM = "system"  # Letter's own emails to its users (invitations, notices)


KINDS = tuple(MessageKind)
PRIORITY = {MessageKind.TRANSACTIONAL: 0, MessageKind.TEST: 0, MessageKind.SYSTEM: 0,
            MessageKind.BULK: 1}


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index(None, "state", "priority", "next_attempt_at"),
        Index(None, "state", "lease_expires_at"),
        Index(None, "project_id", "created_at", "id"),
        Index(None, "project_id", "contact_id", "created_at"),
        Index(None, "project_id", "sent_at"),
        # Only sequence messages: a broadcast's rows need not maintain it.
        Index(None, "project_id", "sequence_id", sqlite_where=text("sequence_id IS NOT NULL"),
              postgresql_where=text("sequence_id IS NOT NULL")),
        # One message per (broadcast, contact): a re-run snapshot cannot add a second.
        # It also serves every lookup by (project_id, broadcast_id).
        Index("uq_messages_broadcast_contact", "project_id", "broadcast_id", "contact_id",
              unique=True, sqlite_where=text("broadcast_id IS NOT NULL"),
              postgresql_where=text("broadcast_id IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE")
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE")
    )
    to_email: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(16), default="bulk")
    priority: Mapped[int] = mapped_column(Integer, default=1)
    subject: Mapped[str] = mapped_column(Text)
    preview: Mapped[str | None] = mapped_column(Text)
    # None on a broadcast's rows: the broadcast's own body, which cannot change
    # once it is scheduled (a copy per recipient was two thirds of the row).
    body_doc: Mapped[dict[str, Any] | None]
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("templates.id", ondelete="SET NULL")
    )
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    broadcast_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    sequence_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    state: Mapped[str] = mapped_column(String(16), default=MessageState.QUEUED)
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    message_id_header: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MessageEvent(Base):
    """One row per state a message went through (the message's history)."""

    __tablename__ = "message_events"
    __table_args__ = (Index(None, "message_id", "created_at"),)

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE")
    )
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class MessageCounter(Base):
    """How many of a broadcast's messages are in (or reached) each state, kept
    by whoever moves them (snapshot, drain, outcomes, cancel) so live stats
    never COUNT over the outbox. ``queued`` counts messages not settled yet
    (queued, held or sending)."""

    __tablename__ = "message_counters"
    __table_args__ = (PrimaryKeyConstraint("project_id", "broadcast_id", "state"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    broadcast_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    state: Mapped[str] = mapped_column(String(16))
    value: Mapped[int] = mapped_column(Integer, default=0)


class SendDay(Base):
    """How many messages a project's relay accepted on one day of the
    project's own calendar: what ``daily_send_cap`` is checked against,
    read in one row instead of a COUNT over the day's outbox."""

    __tablename__ = "send_days"
    __table_args__ = (PrimaryKeyConstraint("project_id", "day"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    sent: Mapped[int] = mapped_column(Integer, default=0)
