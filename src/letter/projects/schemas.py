"""Request and response shapes of projects and ingestion keys."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from letter.schemas import SHOWN_ONCE, Instant, RequestModel, ResponseModel

__all__ = ["KeyCreate", "KeyCreated", "KeyOut", "ProjectCreate", "ProjectOut", "ProjectUpdate"]


class ProjectOut(ResponseModel):
    slug: str
    name: str
    timezone: str
    sending_mode: Literal["letter_subdomain", "byo_domain"]
    sending_status: str
    assigned_subdomain: str
    from_name: str | None
    from_email: str | None
    reply_to_email: str | None
    daily_send_cap: int
    created_at: Instant
    updated_at: Instant


class ProjectCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)


class ProjectUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)


class KeyOut(ResponseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scope: str
    last_used_at: Instant | None
    revoked_at: Instant | None
    created_at: Instant


class KeyCreate(RequestModel):
    name: str | None = Field(default=None, max_length=200)


class KeyCreated(ResponseModel):
    id: uuid.UUID
    name: str
    prefix: str
    key: str | None = Field(description=SHOWN_ONCE)
