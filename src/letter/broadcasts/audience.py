"""A broadcast's audience (spec/003 Audience): a saved segment or an inline
FilterSpec, checked when it is set and resolved to one SQL condition when
the broadcast is sent or preflighted.

>>> check_audience(session, project.id, {"kind": "segment", "segmentId": sid})  # doctest: +SKIP
>>> cond = audience_condition(session, project.id, broadcast.audience, utcnow())  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from letter.errors import Invalid, NotFound
from letter.segments.compile import compile_filter
from letter.segments.filter import TopicFilter
from letter.segments.service import check_filter, get_segment

__all__ = ["audience_condition", "audience_spec", "check_audience", "topic_condition"]


def audience_spec(session: Session, project_id: uuid.UUID, audience: Any) -> Any:
    """The parsed FilterSpec an audience stands for; a bad shape or an unknown
    segment raises ``Invalid`` naming the field."""
    if not isinstance(audience, dict):
        raise Invalid("audience: must be an object with kind 'segment' or 'inline'")
    kind = audience.get("kind")
    if kind == "segment":
        if set(audience) - {"kind", "segmentId"}:
            raise Invalid("audience: a segment audience has only kind and segmentId")
        try:
            segment_id = uuid.UUID(str(audience.get("segmentId")))
        except ValueError as exc:
            raise Invalid("audience.segmentId: must be a segment id (uuid)") from exc
        try:
            segment = get_segment(session, project_id, segment_id)
        except NotFound as exc:
            raise Invalid(f"audience.segmentId: no segment {segment_id} in this project") from exc
        return check_filter(session, project_id, segment.filter, "audience.segment.filter")
    if kind == "inline":
        if set(audience) - {"kind", "filter"} or "filter" not in audience:
            raise Invalid("audience: an inline audience has kind and filter")
        return check_filter(session, project_id, audience["filter"], "audience.filter")
    raise Invalid("audience.kind: must be 'segment' or 'inline'")


def check_audience(session: Session, project_id: uuid.UUID, audience: Any) -> dict[str, Any]:
    audience_spec(session, project_id, audience)
    return dict(audience)


def audience_condition(session: Session, project_id: uuid.UUID, audience: Any,
                       now: datetime) -> ColumnElement[bool]:
    """The SQL condition a contact of the project meets to be in the audience."""
    spec = audience_spec(session, project_id, audience)
    return compile_filter(spec, project_id, now, session.get_bind().dialect.name)


def topic_condition(session: Session, project_id: uuid.UUID, topic_id: uuid.UUID,
                    now: datetime) -> ColumnElement[bool]:
    """The SQL condition a contact meets when it is subscribed to the topic
    (the ``topic`` FilterSpec kind: its choice, else the topic's default)."""
    spec = TopicFilter(topicId=topic_id, subscribed=True)
    return compile_filter(spec, project_id, now, session.get_bind().dialect.name)
