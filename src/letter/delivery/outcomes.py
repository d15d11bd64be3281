"""What comes back after sending: delivery, opens, clicks, bounces,
complaints and unsubscribes. Each updates the message, adds to its history,
and becomes an event on the contact (``Email Delivered``, ``Unsubscribed``…)
so segments and sequence branches can use it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from letter.audience.topics import is_subscribed, set_choice
from letter.clock import utcnow
from letter.contacts.models import Contact, Event
from letter.delivery.counters import bump
from letter.delivery.models import Message, MessageEvent
from letter.errors import NotFound

__all__ = [
    "EVENT_NAMES",
    "contact_event",
    "leave_topic",
    "message_contact",
    "record_outcome",
    "suppress",
    "unsubscribe_message",
]

EVENT_NAMES = {
    "sent": "Email Sent",
    "delivered": "Email Delivered",
    "opened": "Email Opened",
    "clicked": "Email Clicked",
    "bounced": "Email Bounced",
    "complained": "Email Complained",
}
# Engagement only moves forward: a late "delivered" never hides an open.
RANK = {"sent": 0, "delivered": 1, "opened": 2, "clicked": 3, "bounced": 4, "complained": 5}


def contact_event(
    session: Session, message: Message, name: str, now: datetime, **properties: Any
) -> None:
    if message.contact_id is None:
        return
    props = {
        "message_id": str(message.id),
        "subject": message.subject,
        "kind": message.kind,
        "broadcast_id": str(message.broadcast_id) if message.broadcast_id else None,
        "sequence_id": str(message.sequence_id) if message.sequence_id else None,
        **properties,
    }
    session.add(Event(project_id=message.project_id, name=name, properties=props,
                      contact_id=message.contact_id, occurred_at=now))


def suppress(session: Session, contact: Contact, reason: str, now: datetime) -> bool:
    """Set ``unsubscribed_at``; a bounce or complaint overrides a plain unsubscribe
    reason (it also stops transactional mail). Returns True when it changed."""
    if contact.unsubscribed_at is not None and reason == "unsubscribe_link":
        return False
    if contact.unsubscribe_reason in ("bounce", "complaint") and reason == "unsubscribe_link":
        return False
    contact.unsubscribed_at = contact.unsubscribed_at or now
    contact.unsubscribe_reason = reason
    contact.updated_at = now
    return True


def record_outcome(
    session: Session, message: Message, state: str, *, detail: str | None = None,
    now: datetime | None = None, **properties: Any,
) -> None:
    """Apply one provider or tracking outcome to a sent message."""
    now = now or utcnow()
    if state not in RANK:
        raise ValueError(state)
    current = RANK.get(message.state, -1)
    if RANK[state] > current or state in ("bounced", "complained"):
        if message.broadcast_id and message.project_id and message.state != state:
            bump(session, message.project_id, message.broadcast_id, {state: 1})
        message.state = state
        message.reason = detail
    session.add(MessageEvent(project_id=message.project_id, message_id=message.id,
                             state=state, detail=detail, created_at=now))
    contact_event(session, message, EVENT_NAMES[state], now, **properties)
    contact = session.get(Contact, message.contact_id) if message.contact_id else None
    if contact is None:
        return
    if state == "complained":
        suppress(session, contact, "complaint", now)
    elif state == "bounced" and properties.get("bounce_type", "hard") == "hard":
        suppress(session, contact, "bounce", now)


def message_contact(session: Session, message_id: uuid.UUID, contact_id: uuid.UUID | None
                    ) -> tuple[Message, Contact] | None:
    """The message a signed link names and the contact it went to, if both exist."""
    message = session.scalars(select(Message).where(Message.id == message_id)).one_or_none()
    if message is None or message.contact_id is None or message.contact_id != contact_id:
        return None
    contact = session.get(Contact, message.contact_id)
    return None if contact is None else (message, contact)


def leave_topic(session: Session, message_id: uuid.UUID, contact_id: uuid.UUID | None,
                topic_id: uuid.UUID) -> Contact | None:
    """The link of a topic broadcast: the contact leaves that topic only (a
    topic deleted since leaves everything, as a plain link does)."""
    found = message_contact(session, message_id, contact_id)
    if found is None:
        return None
    message, contact = found
    try:
        before = is_subscribed(session, contact.project_id, topic_id, contact.id)
        set_choice(session, contact.project_id, contact, topic_id, subscribed=False)
    except NotFound:
        return unsubscribe_message(session, message_id, contact_id)
    if before:
        now = utcnow()
        contact_event(session, message, "Unsubscribed", now, reason="unsubscribe_link",
                      topic_id=str(topic_id))
        if message.broadcast_id and message.project_id:
            bump(session, message.project_id, message.broadcast_id, {"unsubscribed": 1})
        session.add(MessageEvent(project_id=message.project_id, message_id=message.id,
                                 state="unsubscribed", detail=f"topic {topic_id}",
                                 created_at=now))
    return contact


def unsubscribe_message(session: Session, message_id: uuid.UUID,
                        contact_id: uuid.UUID | None) -> Contact | None:
    """Unsubscribe the contact a message went to (the signed link's target)."""
    found = message_contact(session, message_id, contact_id)
    if found is None:
        return None
    message, contact = found
    now = utcnow()
    if suppress(session, contact, "unsubscribe_link", now):
        contact_event(session, message, "Unsubscribed", now, reason="unsubscribe_link")
        if message.broadcast_id and message.project_id:
            bump(session, message.project_id, message.broadcast_id, {"unsubscribed": 1})
        session.add(MessageEvent(project_id=message.project_id, message_id=message.id,
                                 state="unsubscribed", detail=None, created_at=now))
    return contact
