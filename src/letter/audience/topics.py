"""Topics: subscription preferences, and each contact's choices.

A contact is subscribed to a topic when it chose so (a row in
``topic_subscriptions``), or, without a choice, when the topic's default is
``opt_in``. New contacts get a ``subscribed`` row for every ``opt_in`` topic
at creation (``service.subscribe_new_contacts``), so a later change of a
topic's default moves only the contacts that never had a choice recorded.
The same rule is compiled to SQL by ``segments.compile`` (the ``topic``
FilterSpec kind) and evaluated in memory by ``segments.evaluate``.

>>> news = create_topic(session, project.id, name="Newsletter", description=None,
...                     default="opt_out", visibility="public")          # doctest: +SKIP
>>> set_choice(session, project.id, contact, news.id, subscribed=True)   # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from letter.audience.models import (
    Topic,
    TopicDefault,
    TopicSubscription,
    TopicVisibility,
    subscribed_by,
)
from letter.audience.service import text_field
from letter.broadcasts.models import Broadcast, BroadcastStatus
from letter.clock import utcnow
from letter.contacts.models import Contact
from letter.db.pagination import PageParams, PageResult, paginate
from letter.errors import Conflict, Invalid, NotFound

__all__ = [
    "ContactTopic",
    "contact_topics",
    "create_topic",
    "delete_topic",
    "get_topic",
    "is_subscribed",
    "list_topics",
    "not_subscribed",
    "set_choice",
    "set_public_choices",
    "update_topic",
]

# A broadcast in one of these states may still send to its topic.
LIVE = (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING,
        BroadcastStatus.PAUSED)


@dataclass(frozen=True)
class ContactTopic:
    """A contact's state for one topic (``explicit``: a choice is recorded)."""

    id: uuid.UUID
    name: str
    description: str | None
    default: str
    visibility: str
    subscribed: bool
    explicit: bool


def list_topics(session: Session, project_id: uuid.UUID, page: PageParams) -> PageResult[Topic]:
    return paginate(session, select(Topic).where(Topic.project_id == project_id), Topic, page)


def get_topic(session: Session, project_id: uuid.UUID, topic_id: uuid.UUID) -> Topic:
    found = session.scalars(select(Topic).where(
        Topic.project_id == project_id, Topic.id == topic_id)).one_or_none()
    if found is None:
        raise NotFound(f"No topic {topic_id} in this project.")
    return found


def _unique_name(session: Session, project_id: uuid.UUID, name: str,
                 other_than: uuid.UUID | None = None) -> None:
    stmt = select(Topic.id).where(Topic.project_id == project_id, Topic.name == name)
    if other_than is not None:
        stmt = stmt.where(Topic.id != other_than)
    if session.scalar(stmt) is not None:
        raise Conflict(f'A topic named "{name}" exists in this project.')


def _choice(value: Any, allowed: type[TopicDefault] | type[TopicVisibility], key: str) -> str:
    try:
        return allowed(value).value
    except ValueError as exc:
        names = ", ".join(m.value for m in allowed)
        raise Invalid(f"{key}: must be one of {names}") from exc


def create_topic(session: Session, project_id: uuid.UUID, *, name: str,
                 description: str | None, default: str = TopicDefault.OPT_IN,
                 visibility: str = TopicVisibility.PUBLIC) -> Topic:
    name = text_field({"name": name}, "name") or ""
    _unique_name(session, project_id, name)
    topic = Topic(project_id=project_id, name=name, description=description,
                  default=_choice(default, TopicDefault, "default"),
                  visibility=_choice(visibility, TopicVisibility, "visibility"))
    session.add(topic)
    session.flush()
    return topic


def update_topic(session: Session, project_id: uuid.UUID, topic_id: uuid.UUID,
                 changes: dict[str, Any]) -> Topic:
    """Apply ``name``, ``description`` (null clears it), ``default`` and
    ``visibility``. A new default applies to contacts with no recorded choice."""
    topic = get_topic(session, project_id, topic_id)
    if "name" in changes:
        name = text_field(changes, "name") or ""
        _unique_name(session, project_id, name, other_than=topic.id)
        topic.name = name
    if "description" in changes:
        topic.description = changes["description"]
    if "default" in changes:
        topic.default = _choice(changes["default"], TopicDefault, "default")
    if "visibility" in changes:
        topic.visibility = _choice(changes["visibility"], TopicVisibility, "visibility")
    topic.updated_at = utcnow()
    session.flush()
    return topic


def delete_topic(session: Session, project_id: uuid.UUID, topic_id: uuid.UUID) -> None:
    """Delete a topic and every choice recorded for it; refused while a
    broadcast that is not sent or cancelled names it (it would then go to
    the whole audience)."""
    topic = get_topic(session, project_id, topic_id)
    user = session.scalar(select(Broadcast.id).where(
        Broadcast.project_id == project_id, Broadcast.topic_id == topic.id,
        Broadcast.status.in_(LIVE)).limit(1))
    if user is not None:
        raise Conflict(f"Topic is used by broadcast {user}: change or delete the broadcast "
                       "first.")
    session.delete(topic)
    session.flush()


def set_choice(session: Session, project_id: uuid.UUID, contact: Contact, topic_id: uuid.UUID,
               subscribed: bool) -> ContactTopic:
    """Record the contact's choice for a topic (replacing an earlier one)."""
    topic = get_topic(session, project_id, topic_id)
    now = utcnow()
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite_insert
    # An upsert: two requests recording a first choice at once both succeed.
    stmt = dialect_insert(TopicSubscription).values(
        project_id=project_id, topic_id=topic.id, contact_id=contact.id,
        subscribed=subscribed, updated_at=now)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["project_id", "topic_id", "contact_id"],
        set_={"subscribed": subscribed, "updated_at": now}))
    return _state(topic, subscribed)


def set_public_choices(session: Session, project_id: uuid.UUID, contact: Contact,
                       chosen: set[uuid.UUID]) -> int:
    """The preference centre's form: subscribed to the public topics in
    ``chosen``, to no other public topic. A choice is recorded only where the
    state changes; returns how many changed. Another id in ``chosen`` is
    ``Invalid`` (and nothing changes)."""
    public = contact_topics(session, project_id, contact.id, public_only=True)
    unknown = chosen - {t.id for t in public}
    if unknown:
        raise Invalid(f"topic: {sorted(unknown)[0]} is not a topic you can choose here")
    changed = 0
    for topic in public:
        wanted = topic.id in chosen
        if topic.subscribed != wanted:
            set_choice(session, project_id, contact, topic.id, wanted)
            changed += 1
    return changed


def _state(topic: Topic, choice: bool | None) -> ContactTopic:
    return ContactTopic(topic.id, topic.name, topic.description, topic.default,
                        topic.visibility, subscribed_by(topic.default, choice),
                        choice is not None)


def contact_topics(session: Session, project_id: uuid.UUID, contact_id: uuid.UUID, *,
                   public_only: bool = False) -> list[ContactTopic]:
    """The contact's state for every topic of the project, oldest topic first."""
    stmt = (select(Topic, TopicSubscription.subscribed)
            .outerjoin(TopicSubscription, (TopicSubscription.topic_id == Topic.id)
                       & (TopicSubscription.project_id == project_id)
                       & (TopicSubscription.contact_id == contact_id))
            .where(Topic.project_id == project_id).order_by(Topic.created_at, Topic.id))
    if public_only:
        stmt = stmt.where(Topic.visibility == TopicVisibility.PUBLIC)
    return [_state(topic, choice) for topic, choice in session.execute(stmt).all()]


def is_subscribed(session: Session, project_id: uuid.UUID, topic_id: uuid.UUID,
                  contact_id: uuid.UUID) -> bool:
    """Does the contact get the topic's email (False when the topic is gone)?"""
    topic = session.scalars(select(Topic).where(
        Topic.project_id == project_id, Topic.id == topic_id)).one_or_none()
    if topic is None:
        return False
    row = session.get(TopicSubscription, (project_id, topic_id, contact_id))
    return _state(topic, row.subscribed if row else None).subscribed


Triple = tuple[uuid.UUID, uuid.UUID, uuid.UUID]


def not_subscribed(session: Session, wanted: set[Triple]) -> set[Triple]:
    """Which ``(project_id, topic_id, contact_id)`` of ``wanted`` are not
    subscribed now (a deleted topic subscribes nobody)."""
    topic_ids = {t for _, t, _ in wanted}
    contact_ids = {c for _, _, c in wanted}
    defaults = dict(session.execute(select(Topic.id, Topic.default).where(
        Topic.id.in_(topic_ids))).all())
    choices = {(p, t, c): s for p, t, c, s in session.execute(select(
        TopicSubscription.project_id, TopicSubscription.topic_id, TopicSubscription.contact_id,
        TopicSubscription.subscribed).where(TopicSubscription.topic_id.in_(topic_ids),
                                            TopicSubscription.contact_id.in_(contact_ids)))}
    out = set()
    for key in wanted:
        choice = choices.get(key)
        default = defaults.get(key[1])
        if default is None or not subscribed_by(default, choice):
            out.add(key)
    return out
