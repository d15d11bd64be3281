"""Request and response shapes of segments, previews and contact search."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from letter.db.pagination import MAX_LIMIT
from letter.schemas import Instant, RequestModel, ResponseModel

__all__ = [
    "ContactSearch",
    "PreviewIn",
    "PreviewOut",
    "SegmentCreate",
    "SegmentOut",
    "SegmentUpdate",
]

FILTER_DOC = "A FilterSpec (group, trait, event or suppression node); see docs/segments.md."
FilterField = Field(description=FILTER_DOC, json_schema_extra={"type": "object"})


class SegmentOut(ResponseModel):
    id: uuid.UUID
    name: str
    filter: dict[str, Any]
    count: int | None = Field(description="Contacts matching at counted_at.")
    counted_at: Instant | None
    created_at: Instant
    updated_at: Instant


class SegmentCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    filter: dict[str, Any] = FilterField


class SegmentUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    filter: dict[str, Any] | None = Field(default=None, description=FILTER_DOC)


class PreviewIn(RequestModel):
    filter: dict[str, Any] = FilterField


class PreviewOut(ResponseModel):
    matches: int
    total: int


class ContactSearch(RequestModel):
    """Exactly one of ``filter`` and ``segment_id``."""

    filter: dict[str, Any] | None = Field(default=None, description=FILTER_DOC)
    segment_id: uuid.UUID | None = None
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=200)
