"""Request and response shapes of the transactional send API and message log."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field, model_validator

from letter.schemas import Instant, RequestModel, ResponseModel

__all__ = ["HistoryOut", "MessageCreate", "MessageDetail", "MessageOut", "MessageQueued",
           "Recipient"]


class Recipient(RequestModel):
    external_id: str | None = Field(default=None, min_length=1, max_length=255)
    email: str | None = Field(default=None, min_length=3, max_length=320)

    @model_validator(mode="after")
    def _one(self) -> Recipient:
        if (self.external_id is None) == (self.email is None):
            raise ValueError("give exactly one of external_id or email")
        return self


class MessageCreate(RequestModel):
    to: Recipient
    subject: str = Field(min_length=1, max_length=998)
    preview: str | None = Field(default=None, max_length=500)
    body_doc: dict[str, Any]
    template_id: uuid.UUID | None = None
    data: dict[str, Any] | None = None
    transactional: bool = True


class MessageQueued(ResponseModel):
    id: uuid.UUID
    status: str


class MessageOut(ResponseModel):
    id: uuid.UUID
    contact_id: uuid.UUID | None
    to_email: str
    kind: str
    state: str
    reason: str | None
    subject: str
    template_id: uuid.UUID | None
    broadcast_id: uuid.UUID | None
    sequence_id: uuid.UUID | None
    attempts: int
    message_id_header: str
    provider_message_id: str | None
    created_at: Instant
    next_attempt_at: Instant
    sent_at: Instant | None


class HistoryOut(ResponseModel):
    state: str
    detail: str | None
    at: Instant


class MessageDetail(MessageOut):
    preview: str | None
    body_doc: dict[str, Any]
    data: dict[str, Any]
    history: list[HistoryOut]
