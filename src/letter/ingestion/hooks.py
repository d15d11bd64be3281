"""Where ingestion tells the rest of Letter what it just stored.

Ingestion calls ``contact_created`` for each contact an identify creates and
``event_inserted`` for each event it stores, inside the ingestion transaction
and after the row is written, so trigger evaluation is synchronous (the
sequence engine enrols in the same transaction, or not at all). A duplicate
``message_id`` stores nothing and calls nothing.

Ingestion hands over each batch's contacts and events at once
(``contacts_created``, ``events_inserted``): a listener that defines the
plural methods gets the lists (in order), one that defines only the singular
ones is called for each in turn.

Until a listener subscribes these are no-ops. The sequence engine subscribes
once at start-up:

>>> class Engine:
...     def contact_created(self, session, project, contact, skip_triggers): ...
...     def event_inserted(self, session, project, event, skip_triggers): ...
>>> unsubscribe = subscribe(Engine())
>>> unsubscribe()
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from letter.projects.models import Project

__all__ = [
    "IngestedContact",
    "IngestedEvent",
    "IngestionListener",
    "active",
    "contact_created",
    "contacts_created",
    "event_inserted",
    "events_inserted",
    "subscribe",
]


@dataclass(frozen=True, slots=True)
class IngestedContact:
    id: uuid.UUID
    external_id: str | None  # None for a contact an import created from an email alone
    email: str | None
    traits: dict[str, Any]
    timezone: str | None
    account_id: uuid.UUID | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class IngestedEvent:
    id: uuid.UUID
    name: str
    properties: dict[str, Any]
    contact_id: uuid.UUID | None
    account_id: uuid.UUID | None
    external_user_id: str
    occurred_at: datetime
    received_at: datetime


class IngestionListener(Protocol):
    def contact_created(
        self, session: Session, project: Project, contact: IngestedContact, skip_triggers: bool
    ) -> None: ...

    def event_inserted(
        self, session: Session, project: Project, event: IngestedEvent, skip_triggers: bool
    ) -> None: ...


_listeners: list[IngestionListener] = []


def subscribe(listener: IngestionListener) -> Callable[[], None]:
    """Add a listener; returns the function that removes it again."""
    _listeners.append(listener)

    def unsubscribe() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return unsubscribe


def active() -> bool:
    """Whether anyone listens (ingestion skips building the rows otherwise)."""
    return bool(_listeners)


def contact_created(
    session: Session, project: Project, contact: IngestedContact, skip_triggers: bool
) -> None:
    for listener in _listeners:
        listener.contact_created(session, project, contact, skip_triggers)


def event_inserted(
    session: Session, project: Project, event: IngestedEvent, skip_triggers: bool
) -> None:
    for listener in _listeners:
        listener.event_inserted(session, project, event, skip_triggers)


def contacts_created(
    session: Session, project: Project, contacts: Sequence[IngestedContact], skip_triggers: bool
) -> None:
    """``contact_created`` for each of ``contacts``, in order, as one call to a
    listener that takes them together."""
    for listener in _listeners:
        many = getattr(listener, "contacts_created", None)
        if many is not None:
            many(session, project, contacts, skip_triggers)
            continue
        for contact in contacts:
            listener.contact_created(session, project, contact, skip_triggers)


def events_inserted(
    session: Session, project: Project, events: Sequence[IngestedEvent], skip_triggers: bool
) -> None:
    """``event_inserted`` for each of ``events``, in order, as one call to a
    listener that takes them together."""
    for listener in _listeners:
        many = getattr(listener, "events_inserted", None)
        if many is not None:
            many(session, project, events, skip_triggers)
            continue
        for event in events:
            listener.event_inserted(session, project, event, skip_triggers)
