"""Request and response shapes of ``/v1/projects/{slug}/sequences``.

Graphs and triggers travel as JSON objects and are validated by
``letter.sequences.graph`` (so errors name the failing path)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from letter.schemas import Instant, RequestModel, ResponseModel

__all__ = [
    "ActivityOut",
    "DraftIn",
    "DraftOut",
    "EmailNodeIn",
    "EnrollmentOut",
    "PreviewOut",
    "PublishOut",
    "SequenceCreate",
    "SequenceDetail",
    "SequenceOut",
    "SequenceUpdate",
    "TestEmailOut",
    "ValidateOut",
    "VersionOut",
]

GRAPH_DOC = "The flow graph: {nodes: [...], edges: [...]} (see docs/sequences.md)."
TRIGGER_DOC = "A SequenceTrigger: {type: event|contact_created, ...} (see docs/sequences.md)."


class SequenceOut(ResponseModel):
    id: uuid.UUID
    name: str
    status: str
    trigger: dict[str, Any] | None
    draft_revision: int
    published_version_id: uuid.UUID | None
    created_at: Instant
    updated_at: Instant


class SequenceDetail(SequenceOut):
    draft_graph: dict[str, Any]


class SequenceCreate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)


class SequenceUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    status: Literal["active", "archived"] | None = None


class DraftIn(RequestModel):
    graph: dict[str, Any] = Field(description=GRAPH_DOC)
    trigger: dict[str, Any] | None = Field(description=TRIGGER_DOC)
    expected_revision: int = Field(ge=0)


class DraftOut(ResponseModel):
    revision: int
    updated_at: Instant


class PublishOut(ResponseModel):
    version_number: int


class CheckError(ResponseModel):
    nodeId: str | None
    message: str


class ValidateOut(ResponseModel):
    ok: bool
    errors: list[CheckError]


class EmailNodeIn(RequestModel):
    node_id: str = Field(min_length=1, max_length=100)
    config: dict[str, Any] | None = Field(
        default=None, description="An email node config (camelCase; snake_case accepted); "
        "omit it to use the saved draft node's.")
    recipient_email: str | None = Field(default=None, max_length=320)


class PreviewOut(ResponseModel):
    html: str
    text: str


class TestEmailOut(ResponseModel):
    message_id: str
    to: str


class VersionOut(ResponseModel):
    id: uuid.UUID
    version_number: int
    trigger: dict[str, Any]
    graph: dict[str, Any]
    published_by: uuid.UUID | None
    published_at: Instant


class EnrollmentOut(ResponseModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    external_id: str | None = None
    email: str | None = None
    state: str
    node_id: str
    version_number: int | None = None
    reason: str | None
    next_run_at: Instant | None
    created_at: Instant
    updated_at: Instant
    finished_at: Instant | None


class NodeActivity(ResponseModel):
    node_id: str
    current: int
    sent: int
    opened: int
    clicked: int


class ActivityOut(ResponseModel):
    counts: dict[str, int]
    nodes: list[NodeActivity]
    last_24h: dict[str, int]
    enrollments: list[EnrollmentOut]
