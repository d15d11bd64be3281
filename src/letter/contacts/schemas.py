"""Response and request shapes of the audience: contacts, suppressions,
accounts, events and the traits summary (spec/003, field for field)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from letter.audience.schemas import ContactListRef, ContactTopicOut
from letter.schemas import Instant, RequestModel, ResponseModel

__all__ = [
    "AccountContactOut",
    "AccountDetailOut",
    "AccountOut",
    "ContactAccountOut",
    "ContactDetailOut",
    "ContactOut",
    "EventOut",
    "SuppressionCreate",
    "SuppressionOut",
    "TraitOut",
]


class ContactOut(ResponseModel):
    id: uuid.UUID
    external_id: str | None
    email: str | None
    traits: dict[str, Any]
    account_id: uuid.UUID | None
    unsubscribed_at: Instant | None
    unsubscribe_reason: str | None
    created_at: Instant
    updated_at: Instant


class ContactAccountOut(ResponseModel):
    id: uuid.UUID
    external_id: str
    name: str | None


class EventOut(ResponseModel):
    id: uuid.UUID
    name: str
    properties: dict[str, Any]
    contact_id: uuid.UUID | None
    account_id: uuid.UUID | None
    external_user_id: str | None
    occurred_at: Instant
    received_at: Instant


class ContactDetailOut(ResponseModel):
    id: uuid.UUID
    external_id: str | None
    email: str | None
    traits: dict[str, Any]
    timezone: str | None
    unsubscribed_at: Instant | None
    unsubscribe_reason: str | None
    created_at: Instant
    updated_at: Instant
    account: ContactAccountOut | None
    recent_events: list[EventOut]
    lists: list[ContactListRef] = Field(description="The lists the contact is in.")
    topics: list[ContactTopicOut] = Field(
        description="The contact's state for every topic of the project.")


class SuppressionOut(ResponseModel):
    id: uuid.UUID
    external_id: str | None
    email: str | None
    unsubscribed_at: Instant | None
    unsubscribe_reason: str | None
    created_at: Instant


class SuppressionCreate(RequestModel):
    email: str = Field(min_length=1, max_length=320)


class AccountOut(ResponseModel):
    id: uuid.UUID
    external_id: str
    name: str | None
    traits: dict[str, Any]
    created_at: Instant
    updated_at: Instant


class AccountContactOut(ResponseModel):
    id: uuid.UUID
    external_id: str | None
    email: str | None
    unsubscribed_at: Instant | None


class AccountDetailOut(AccountOut):
    contacts: list[AccountContactOut]


class TraitOut(ResponseModel):
    key: str
    scope: str
    type: str
    count: int
    sample: str | None
