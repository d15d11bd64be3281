"""Request and response shapes of CSV imports and exports (spec/003 CSV
imports; DESIGN §6 for what the spec leaves open)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from letter.schemas import Instant, RequestModel, ResponseModel

__all__ = [
    "ExportAccepted",
    "ExportCreate",
    "ExportOut",
    "ImportAccepted",
    "ImportOut",
    "LinkOut",
    "PreviewColumn",
    "PreviewOut",
]


class ImportAccepted(ResponseModel):
    id: uuid.UUID
    status: str


class ImportOut(ResponseModel):
    id: uuid.UUID
    status: str = Field(description="queued, running, completed, failed or cancelled")
    filename: str
    size_bytes: int
    encoding: str = Field(description="utf-8, utf-8-sig (a BOM) or cp1252, as detected")
    delimiter: str
    has_header: bool
    dedupe: str
    mapping: dict[str, str]
    lists: list[uuid.UUID]
    topics: list[uuid.UUID]
    trigger_sequences: bool
    row_count: int | None = Field(description="The rowCount the upload declared.")
    total: int | None = Field(description="Data rows in the file, counted when it starts.")
    processed: int
    created: int
    updated: int
    skipped: int
    failed: int
    error: str | None = Field(description="Why a failed import stopped.")
    created_at: Instant
    started_at: Instant | None
    finished_at: Instant | None


class LinkOut(ResponseModel):
    url: str
    expires_at: Instant


class PreviewColumn(ResponseModel):
    index: int
    header: str | None
    kind: str = Field(description="What the values look like: email, id, status, timezone,"
                      " date, number, boolean, phone, name, text or empty.")
    samples: list[str]
    suggested: str = Field(description="The suggested mapping field for this column.")


class PreviewOut(ResponseModel):
    encoding: str
    delimiter: str
    has_header: bool
    columns: list[PreviewColumn]


class ExportCreate(RequestModel):
    filter: dict[str, Any] | None = Field(default=None, description="A FilterSpec.")
    segment_id: uuid.UUID | None = None
    list_id: uuid.UUID | None = None
    topic_id: uuid.UUID | None = Field(default=None, description="Its subscribers.")
    status: Literal["subscribed", "unsubscribed"] | None = None
    email_contains: str | None = Field(default=None, min_length=1, max_length=320)


class ExportAccepted(ResponseModel):
    id: uuid.UUID
    status: str


class ExportOut(ResponseModel):
    id: uuid.UUID
    status: str = Field(description="queued, running, completed or failed")
    params: dict[str, Any]
    row_count: int | None
    download_url: str | None = Field(description="Signed; null until ready and after expiry.")
    expires_at: Instant | None
    error: str | None
    created_at: Instant
    finished_at: Instant | None
