"""Request and response shapes of sending domains and sending settings."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from letter.domains.models import DomainStatus
from letter.schemas import Instant, RequestModel, ResponseModel

__all__ = [
    "DailySendCap", "DnsRecordOut", "DomainCreate", "DomainOut", "SenderIdentity", "SendingMode",
]


class DnsRecordOut(ResponseModel):
    type: str
    name: str
    value: str


class DomainOut(ResponseModel):
    id: uuid.UUID
    domain: str
    kind: str
    status: DomainStatus
    dkim_tokens: list[str]
    dns_records: list[DnsRecordOut]
    failure_reason: str | None
    verified_at: Instant | None
    last_checked_at: Instant | None
    created_at: Instant
    updated_at: Instant


class DomainCreate(RequestModel):
    domain: str = Field(min_length=1, max_length=253)


class SenderIdentity(RequestModel):
    from_email: str = Field(min_length=3, max_length=320)
    from_name: str | None = Field(default=None, max_length=200)
    reply_to_email: str | None = Field(default=None, max_length=320)


class SendingMode(RequestModel):
    sending_mode: Literal["letter_subdomain", "byo_domain"]


class DailySendCap(RequestModel):
    daily_send_cap: int = Field(description="Messages a day, from midnight in the project's "
                                "time zone; past it, messages wait for the next day.")
