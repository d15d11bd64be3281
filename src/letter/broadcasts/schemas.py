"""Request and response shapes of broadcasts (spec/003 Broadcasts)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from letter.schemas import Instant, RequestModel, ResponseModel

__all__ = [
    "ActivityOut", "BroadcastCreate", "BroadcastDetail", "BroadcastOut", "BroadcastUpdate",
    "ExcludedOut", "LiveOut", "PreflightOut", "ScheduleIn", "TestSendIn", "TestSendOut",
]

AUDIENCE_DOC = ('{"kind": "segment", "segmentId": "<uuid>"} or '
                '{"kind": "inline", "filter": <FilterSpec>}')


class BroadcastOut(ResponseModel):
    id: uuid.UUID
    name: str
    status: str
    subject: str | None
    preview: str | None
    audience: dict[str, Any] | None
    template_id: uuid.UUID | None
    topic_id: uuid.UUID | None
    from_email: str | None
    scheduled_at: Instant | None
    local_time: bool
    paused_reason: str | None
    completed_at: Instant | None
    cancelled_at: Instant | None
    created_at: Instant
    updated_at: Instant


class BroadcastDetail(BroadcastOut):
    body_doc: dict[str, Any] | None


class _Fields(RequestModel):
    subject: str | None = Field(default=None, max_length=998)
    preview: str | None = Field(default=None, max_length=500)
    audience: dict[str, Any] | None = Field(default=None, description=AUDIENCE_DOC)
    template_id: uuid.UUID | None = None
    topic_id: uuid.UUID | None = None
    body_doc: dict[str, Any] | None = None


class BroadcastCreate(_Fields):
    name: str | None = Field(default=None, max_length=200)


class BroadcastUpdate(_Fields):
    name: str | None = Field(default=None, min_length=1, max_length=200)


class ScheduleIn(RequestModel):
    scheduled_at: datetime | None = Field(description="null: send now.")
    local_time: bool = Field(default=False, description=(
        "Send at scheduled_at's wall-clock time in each contact's time zone "
        "(else the project's)."))


class ExcludedOut(ResponseModel):
    contact_id: uuid.UUID
    external_id: str | None
    email: str | None
    reason: str


class PreflightOut(ResponseModel):
    matches: int
    total: int
    subject: str
    excluded: dict[str, int]
    excluded_sample: list[ExcludedOut]


class TestSendIn(RequestModel):
    to: str = Field(min_length=3, max_length=320)
    as_external_id: str | None = Field(default=None, min_length=1, max_length=255)


class TestSendOut(ResponseModel):
    id: uuid.UUID
    status: str


class ActivityOut(ResponseModel):
    id: uuid.UUID
    state: str
    reason: str | None
    finished_at: Instant | None
    contact_email: str
    contact_id: uuid.UUID | None


class LiveOut(ResponseModel):
    status: str
    scheduled_at: Instant | None
    completed_at: Instant | None
    cancelled_at: Instant | None
    paused_reason: str | None
    recipients: int
    stats: dict[str, int]
    activity: list[ActivityOut]
