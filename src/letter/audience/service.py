"""Lists and topics: membership and subscription rules shared by every path
that creates contacts (identify, batch, import, the Management API)."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from letter.audience.models import Topic, TopicDefault, TopicSubscription

__all__ = ["subscribe_new_contacts"]

_topics = Topic.__table__
_OPT_IN = select(_topics.c.id).where(
    _topics.c.project_id == bindparam("project_id"), _topics.c.default == TopicDefault.OPT_IN
)


def subscribe_new_contacts(
    session: Session, project_id: uuid.UUID, contact_ids: Collection[uuid.UUID]
) -> None:
    """Subscribe contacts that were just created to the project's ``opt_in`` topics.

    Call it once per batch with the ids of the contacts the batch created
    (never with existing contacts: their choices stand)::

        subscribe_new_contacts(session, project.id, created_ids)
    """
    if not contact_ids:
        return
    # A Core statement built once: ingestion runs this for every batch.
    topic_ids = list(session.execute(_OPT_IN, {"project_id": project_id}).scalars())
    if not topic_ids:
        return
    session.execute(
        insert(TopicSubscription),
        [
            {"project_id": project_id, "topic_id": t, "contact_id": c, "subscribed": True}
            for t in topic_ids
            for c in contact_ids
        ],
    )
