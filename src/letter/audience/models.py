"""Lists and topics, and who belongs to which.

A list is a static set a team fills by hand, by API or by import. A topic is
a subscription preference a contact can change in the preference centre; a
row in ``topic_subscriptions`` records the contact's choice. A contact with
no row follows the topic's default: subscribed to an ``opt_in`` topic, not
to an ``opt_out`` one. New contacts get a ``subscribed`` row for every
``opt_in`` topic at creation, so a later change of the default moves only
contacts that existed before the topic (see ``topics.py``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from letter.clock import utcnow
from letter.db.base import Base, created_at_column, id_column

__all__ = [
    "ContactList",
    "ListMember",
    "Topic",
    "TopicDefault",
    "TopicSubscription",
    "TopicVisibility",
    "subscribed_by",
]


class TopicDefault(StrEnum):
    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"


def subscribed_by(default: str, choice: bool | None) -> bool:
    """The topic rule: a recorded choice wins, else ``opt_in`` means subscribed.

    >>> subscribed_by(TopicDefault.OPT_OUT, None), subscribed_by(TopicDefault.OPT_IN, False)
    (False, False)
    """
    return default == TopicDefault.OPT_IN if choice is None else choice


class TopicVisibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class ContactList(Base):
    __tablename__ = "lists"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        Index(None, "project_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ListMember(Base):
    __tablename__ = "list_members"
    __table_args__ = (Index(None, "project_id", "contact_id"),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    added_at: Mapped[datetime] = created_at_column()


class Topic(Base):
    __tablename__ = "topics"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        Index(None, "project_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    default: Mapped[str] = mapped_column(String(16), default=TopicDefault.OPT_IN)
    visibility: Mapped[str] = mapped_column(String(16), default=TopicVisibility.PUBLIC)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TopicSubscription(Base):
    """A contact's choice for one topic: ``subscribed`` true or false."""

    __tablename__ = "topic_subscriptions"
    __table_args__ = (Index(None, "project_id", "contact_id"),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    subscribed: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
