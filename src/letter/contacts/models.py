"""The audience: contacts, accounts, events, and ingestion receipts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, validates

from letter.clock import utcnow
from letter.db.base import Base, UTCDateTime, created_at_column, id_column
from letter.emails import email_key

__all__ = ["Account", "Contact", "ContactCount", "Event", "MessageReceipt"]


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("project_id", "external_id"),
        Index(None, "project_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    traits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("project_id", "external_id"),
        Index(None, "project_id", "created_at", "id"),
        Index(None, "project_id", "email_key"),
        Index(None, "project_id", "account_id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    # Who the address belongs to (``letter.emails.email_key``): addresses that
    # differ only in case are one person. A column rather than an index on
    # lower(email) because SQLite's lower() folds ASCII only: the key is
    # computed once, in Python, the same for both databases.
    email_key: Mapped[str | None] = mapped_column(String(320))
    traits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timezone: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    unsubscribed_at: Mapped[datetime | None]
    unsubscribe_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @validates("email")
    def _keep_key(self, _name: str, value: str | None) -> str | None:
        self.email_key = None if value is None else email_key(value)
        return value


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index(None, "project_id", "name", "occurred_at"),
        Index(None, "project_id", "contact_id", "name", "occurred_at"),
        Index(None, "project_id", "external_user_id"),
        Index(None, "project_id", "created_at", "id"),
        # Segments: "did / did not <name> within <window>" reads contact ids straight
        # from this index (index-only), without touching the event rows.
        Index(None, "project_id", "name", "occurred_at", "contact_id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE")
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    external_user_id: Mapped[str | None] = mapped_column(String(255))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Ingested with skip_triggers (a backfill): the sequence engine must not enrol on it.
    skip_triggers: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), nullable=False
    )
    # created_at is when Letter received the event (the API calls it received_at);
    # the shared keyset paginator orders by it.
    created_at: Mapped[datetime] = created_at_column()

    @property
    def received_at(self) -> datetime:
        return self.created_at


class MessageReceipt(Base):
    """One row per ingested ``message_id``: a repeat within retention is a duplicate."""

    __tablename__ = "message_receipts"
    __table_args__ = (Index(None, "received_at"),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    received_at: Mapped[datetime] = created_at_column()


class ContactCount(Base):
    """A project's contact totals, recounted in the background, so a page
    never counts a million rows to show a number in its header."""

    __tablename__ = "contact_counts"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    total: Mapped[int] = mapped_column(default=0)
    suppressed: Mapped[int] = mapped_column(default=0)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime())
