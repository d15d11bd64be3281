"""What the outbox drain sees of the database: a :class:`Store` that claims due
messages, loads what rendering needs and records outcomes (``sqlstore.py`` is
the SQL one). The drain imports no ORM model and no other domain.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from letter.delivery.dkim import DkimSigner
from letter.delivery.mime import SenderHeaders

__all__ = [
    "AccountRow",
    "Batch",
    "ContactRow",
    "MessageRow",
    "ProjectRow",
    "Sender",
    "Settled",
    "Store",
]


class MessageRow(Protocol):
    id: uuid.UUID
    project_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    to_email: str
    kind: str
    subject: str
    preview: str | None
    body_doc: Any
    template_id: uuid.UUID | None
    data: dict[str, Any] | None
    broadcast_id: uuid.UUID | None
    sequence_id: uuid.UUID | None
    message_id_header: str
    attempts: int


class ContactRow(Protocol):
    id: uuid.UUID
    external_id: str | None
    email: str | None
    traits: dict[str, Any] | None
    account_id: uuid.UUID | None
    unsubscribed_at: datetime | None
    unsubscribe_reason: str | None


class AccountRow(Protocol):
    id: uuid.UUID
    external_id: str
    name: str | None
    traits: dict[str, Any] | None


class ProjectRow(Protocol):
    id: uuid.UUID
    name: str
    slug: str
    timezone: str
    daily_send_cap: int


@dataclass(frozen=True)
class Sender:
    headers: SenderHeaders
    domain: str
    signer: DkimSigner | None


@dataclass
class Batch:
    """One claimed batch and everything its rendering reads."""

    messages: list[MessageRow]
    contacts: dict[uuid.UUID, ContactRow]
    accounts: dict[uuid.UUID, AccountRow]
    projects: dict[uuid.UUID, ProjectRow]
    designs: dict[uuid.UUID, dict[str, Any]]  # template id -> design
    defaults: dict[uuid.UUID, dict[str, Any]]  # project id -> default design
    senders: dict[uuid.UUID, Sender]  # project id -> sender
    sent_today: dict[uuid.UUID, int]  # project id -> messages counted against the cap
    # broadcast id -> its topic, for the broadcasts of this batch that have one
    topics: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    # messages of a topic broadcast whose contact left the topic since the snapshot
    left_topic: set[uuid.UUID] = field(default_factory=set)
    # broadcast id -> its body, for the messages that hold none of their own
    bodies: dict[uuid.UUID, Any] = field(default_factory=dict)

    def body_of(self, message: MessageRow) -> Any:
        if message.body_doc is None and message.broadcast_id is not None:
            return self.bodies.get(message.broadcast_id)
        return message.body_doc


@dataclass(frozen=True)
class Settled:
    """A message's fate after one pass of the drain.

    ``state`` is a final state (``sent``, ``suppressed``, ``failed``) or
    ``queued`` again with ``next_attempt_at`` (a retry, or a deferral that
    ``counts_attempt=False`` does not charge)."""

    state: str
    detail: str | None = None
    next_attempt_at: datetime | None = None
    counts_attempt: bool = True
    provider_id: str | None = None
    recipient: str | None = None


class Store(Protocol):
    def claim(self, owner: str, limit: int, now: datetime, lease: float) -> list[uuid.UUID]:
        """Take up to ``limit`` due messages (and expired leases) as ``owner``."""
        ...

    def load(self, ids: list[uuid.UUID], owner: str, now: datetime) -> Batch: ...

    def record(self, batch: Batch, settled: dict[uuid.UUID, Settled], now: datetime,
               accepted_at: datetime) -> None:
        """Write each message's new state, its history and the contact events."""
        ...
