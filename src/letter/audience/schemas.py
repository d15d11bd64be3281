"""Request and response shapes of lists, list members and topics."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field, StrictBool

from letter.audience.models import TopicDefault, TopicVisibility
from letter.schemas import Instant, RequestModel, ResponseModel

__all__ = [
    "ContactListRef",
    "ContactTopicOut",
    "ListCreate",
    "ListDetail",
    "ListOut",
    "ListUpdate",
    "MembersAdded",
    "MembersIn",
    "SubscriptionIn",
    "TopicCreate",
    "TopicOut",
    "TopicUpdate",
]

MAX_MEMBERS_PER_CALL = 1000
Name = Field(min_length=1, max_length=200)
Description = Field(default=None, max_length=2000)
DEFAULT_DOC = ("opt_in: contacts count as subscribed unless they chose otherwise (new "
               "contacts get a subscription at creation); opt_out: only contacts who "
               "subscribed.")
VISIBILITY_DOC = "public topics show in the preference centre; private ones never do."


class ListOut(ResponseModel):
    id: uuid.UUID
    name: str
    description: str | None
    created_at: Instant
    updated_at: Instant


class ListDetail(ListOut):
    member_count: int


class ListCreate(RequestModel):
    name: str = Name
    description: str | None = Description


class ListUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Description


class MembersIn(RequestModel):
    """Exactly one of ``external_ids`` and ``emails`` (an email adds every
    contact with that address, in any letter case)."""

    external_ids: list[str] | None = Field(default=None, min_length=1,
                                           max_length=MAX_MEMBERS_PER_CALL)
    emails: list[str] | None = Field(default=None, min_length=1,
                                     max_length=MAX_MEMBERS_PER_CALL)


class MembersAdded(ResponseModel):
    added: int = Field(description="Contacts that joined the list with this call.")
    already_members: int
    not_found: list[str] = Field(description="The identifiers that matched no contact.")


class TopicOut(ResponseModel):
    id: uuid.UUID
    name: str
    description: str | None
    default: Literal["opt_in", "opt_out"]
    visibility: Literal["public", "private"]
    created_at: Instant
    updated_at: Instant


class TopicCreate(RequestModel):
    name: str = Name
    description: str | None = Description
    default: TopicDefault = Field(default=TopicDefault.OPT_IN, description=DEFAULT_DOC)
    visibility: TopicVisibility = Field(default=TopicVisibility.PUBLIC,
                                        description=VISIBILITY_DOC)


class TopicUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Description
    default: TopicDefault | None = Field(default=None, description=DEFAULT_DOC)
    visibility: TopicVisibility | None = Field(default=None, description=VISIBILITY_DOC)


class SubscriptionIn(RequestModel):
    subscribed: StrictBool


class ContactListRef(ResponseModel):
    id: uuid.UUID
    name: str


class ContactTopicOut(ResponseModel):
    """A contact's state for one topic: ``explicit`` is false when it follows
    the topic's default."""

    id: uuid.UUID
    name: str
    default: Literal["opt_in", "opt_out"]
    subscribed: StrictBool
    explicit: bool
