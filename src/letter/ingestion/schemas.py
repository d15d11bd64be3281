"""Wire shapes of the Ingestion API, for the OpenAPI document.

The hot path validates with ``letter.ingestion.parse`` (plain code over the
decoded JSON); these models describe the same contract to readers and tools.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BatchBody",
    "BatchRejection",
    "BatchResultOut",
    "GroupCall",
    "IdentifyCall",
    "TrackCall",
]


class _Call(BaseModel):
    # Unknown fields (context, integrations, sentAt…) are accepted and ignored.
    model_config = ConfigDict(extra="allow")

    user_id: str | None = Field(
        None, min_length=1, max_length=255, description="Your user id (or userId)."
    )
    message_id: str | None = Field(
        None, max_length=255, description="Dedupe key (or messageId): repeats within 30 days "
        "are acknowledged and not applied again.",
    )
    timestamp: str | None = Field(None, description="ISO 8601 instant the call describes.")
    skip_triggers: bool | None = Field(
        None, description="Ingest without enrolling anyone (backfills)."
    )


class IdentifyCall(_Call):
    type: Literal["identify"] | None = None
    email: str | None = Field(None, description="Or traits.email.")
    traits: dict[str, Any] | None = Field(None, description="Deep-merged into stored traits.")
    timezone: str | None = Field(None, description="IANA time zone name.")


class TrackCall(_Call):
    type: Literal["track"] | None = None
    event: str = Field(min_length=1, max_length=255)
    properties: dict[str, Any] | None = None


class GroupCall(_Call):
    type: Literal["group"] | None = None
    account_id: str = Field(
        min_length=1, max_length=255, description="Or accountId, groupId, group_id."
    )
    name: str | None = Field(None, max_length=255, description="Or traits.name.")
    traits: dict[str, Any] | None = None


class BatchBody(BaseModel):
    batch: list[dict[str, Any]] = Field(
        max_length=1000,
        description='Up to 1,000 calls, each an identify, track or group with its "type".',
    )
    skip_triggers: bool = False


class BatchRejection(BaseModel):
    index: int
    code: str
    message: str


class BatchResultOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[BatchRejection]
