"""Segment rules: save, count, preview and search with FilterSpecs.

>>> segment = create_segment(session, project.id, "Paid", {"kind": "trait",
...     "path": "plan", "op": "neq", "value": "free"})              # doctest: +SKIP
>>> preview(session, project.id, segment.filter)                    # doctest: +SKIP
(142, 3500)
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from letter.audience.models import ContactList, ListMember, Topic, TopicDefault, TopicSubscription
from letter.clock import utcnow
from letter.contacts.models import Account, Contact, Event
from letter.db.pagination import PageParams, PageResult, paginate
from letter.errors import Invalid, NotFound
from letter.segments.compile import compile_filter, matching_contacts
from letter.segments.evaluate import ContactView, audience_ids, event_names
from letter.segments.filter import (
    EventFilter,
    GroupFilter,
    ListFilter,
    TopicFilter,
    TraitFilter,
    parse_filter,
    references,
)
from letter.segments.models import Segment

__all__ = [
    "COUNT_MAX_AGE",
    "AudienceFacts",
    "audience_facts",
    "check_filter",
    "contact_view",
    "count_matches",
    "create_segment",
    "delete_segment",
    "get_segment",
    "list_segments",
    "mark_stale",
    "preview",
    "recount",
    "recount_stale",
    "search_contacts",
    "update_segment",
]

# A segment's count is recounted in the background once it is older than this.
COUNT_MAX_AGE = timedelta(minutes=5)


def _dialect(session: Session) -> str:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # A filter's CASE expressions look expensive to the planner, which then
        # JIT-compiles them: ~300 ms of compiling to save a few. Not for this
        # transaction.
        session.execute(text("SET LOCAL jit = off"))
    return dialect


def count_matches(session: Session, project_id: uuid.UUID, spec: Any,
                  now: datetime | None = None) -> int:
    """How many of the project's contacts match a parsed FilterSpec."""
    cond = compile_filter(spec, project_id, now or utcnow(), _dialect(session))
    stmt = select(func.count()).select_from(Contact).where(Contact.project_id == project_id, cond)
    return int(session.scalar(stmt) or 0)


def preview(session: Session, project_id: uuid.UUID, raw_filter: Any,
            now: datetime | None = None) -> tuple[int, int]:
    """``(matches, total)`` for an unsaved filter; invalid filters raise ``Invalid``."""
    spec = check_filter(session, project_id, raw_filter)
    in_project = Contact.project_id == project_id
    if _dialect(session) == "postgresql" and not _joins(spec):
        # A filter on the contact row alone needs a full scan anyway: one scan
        # counts both. (Event and account conditions plan better as joins.)
        cond = compile_filter(spec, project_id, now or utcnow(), "postgresql")
        row = session.execute(select(func.count().filter(cond), func.count())
                              .select_from(Contact).where(in_project)).one()
        return int(row[0]), int(row[1])
    # SQLite may answer event filters from the events index alone: count separately
    matches = count_matches(session, project_id, spec, now)
    total = session.scalar(select(func.count()).select_from(Contact).where(in_project))
    return matches, int(total or 0)


def _joins(spec: Any) -> bool:
    """Does the filter read events, accounts, lists or topics?"""
    if isinstance(spec, GroupFilter):
        return any(_joins(child) for child in spec.children)
    if isinstance(spec, TraitFilter):
        return spec.path.startswith("account.")
    return isinstance(spec, EventFilter | ListFilter | TopicFilter)


def check_filter(session: Session, project_id: uuid.UUID, raw_filter: Any,
                 where: str = "filter") -> Any:
    """Parse a filter and check that the lists and topics it names are this
    project's; ``Invalid`` names the failing path."""
    spec = parse_filter(raw_filter, where)
    wanted = list(references(spec, where))
    if not wanted:
        return spec
    lists, topics = audience_ids(spec)
    known = set(session.scalars(select(ContactList.id).where(
        ContactList.project_id == project_id, ContactList.id.in_(lists)))) if lists else set()
    if topics:
        known |= set(session.scalars(select(Topic.id).where(
            Topic.project_id == project_id, Topic.id.in_(topics))))
    for path, kind, ident in wanted:
        if ident not in known:
            raise Invalid(f"{path}: no {kind} {ident} in this project")
    return spec


AudienceFacts = tuple[frozenset[uuid.UUID], dict[uuid.UUID, bool], frozenset[uuid.UUID]]


def audience_facts(session: Session, project_id: uuid.UUID, contact_id: uuid.UUID,
                   spec: Any) -> AudienceFacts:
    """``(lists, topic_choices, opt_in_topics)`` of a contact, for a ContactView:
    only the lists and topics ``spec`` names (nothing is read when it names none)."""
    lists, topics = audience_ids(spec)
    member: frozenset[uuid.UUID] = frozenset()
    choices: dict[uuid.UUID, bool] = {}
    opt_in: frozenset[uuid.UUID] = frozenset()
    if lists:
        member = frozenset(session.scalars(select(ListMember.list_id).where(
            ListMember.project_id == project_id, ListMember.contact_id == contact_id,
            ListMember.list_id.in_(lists))))
    if topics:
        choices = {t: bool(s) for t, s in session.execute(
            select(TopicSubscription.topic_id, TopicSubscription.subscribed).where(
                TopicSubscription.project_id == project_id,
                TopicSubscription.contact_id == contact_id,
                TopicSubscription.topic_id.in_(topics)))}
        opt_in = frozenset(session.scalars(select(Topic.id).where(
            Topic.project_id == project_id, Topic.id.in_(topics),
            Topic.default == TopicDefault.OPT_IN)))
    return member, choices, opt_in


def contact_view(session: Session, contact: Contact, spec: Any) -> ContactView:
    """What ``evaluate.matches(spec, view, now)`` needs to know of a stored contact."""
    account = session.get(Account, contact.account_id) if contact.account_id else None
    names = event_names(spec)
    events: list[tuple[str, datetime]] = []
    if names:
        events = [(name, at) for name, at in session.execute(
            select(Event.name, Event.occurred_at).where(
                Event.project_id == contact.project_id, Event.contact_id == contact.id,
                Event.name.in_(names)))]
    lists, choices, opt_in = audience_facts(session, contact.project_id, contact.id, spec)
    return ContactView(traits=contact.traits, email=contact.email,
                       external_id=contact.external_id, created_at=contact.created_at,
                       unsubscribed_at=contact.unsubscribed_at,
                       account_traits=account.traits if account else None, events=events,
                       lists=lists, topic_choices=choices, opt_in_topics=opt_in)


def list_segments(
    session: Session, project_id: uuid.UUID, page: PageParams
) -> PageResult[Segment]:
    return paginate(session, select(Segment).where(Segment.project_id == project_id), Segment, page)


def get_segment(session: Session, project_id: uuid.UUID, segment_id: uuid.UUID) -> Segment:
    segment = session.scalar(select(Segment).where(Segment.project_id == project_id,
                                                   Segment.id == segment_id))
    if segment is None:
        raise NotFound("No such segment in this project.")
    return segment


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise Invalid("name: must not be empty")
    return name


def recount(session: Session, segment: Segment, now: datetime | None = None) -> Segment:
    """Count the segment's matches now and store the count."""
    now = now or utcnow()
    segment.count = count_matches(session, segment.project_id, parse_filter(segment.filter), now)
    segment.counted_at = now
    session.flush()
    return segment


def create_segment(session: Session, project_id: uuid.UUID, name: str, raw_filter: Any) -> Segment:
    check_filter(session, project_id, raw_filter)
    segment = Segment(project_id=project_id, name=_name(name), filter=raw_filter)
    session.add(segment)
    session.flush()
    return recount(session, segment)


def update_segment(session: Session, project_id: uuid.UUID, segment_id: uuid.UUID,
                   name: str | None, raw_filter: Any | None) -> Segment:
    segment = get_segment(session, project_id, segment_id)
    if name is not None:
        segment.name = _name(name)
    if raw_filter is not None:
        check_filter(session, project_id, raw_filter)
        segment.filter = raw_filter
    segment.updated_at = utcnow()
    session.flush()
    return recount(session, segment) if raw_filter is not None else segment


def delete_segment(session: Session, project_id: uuid.UUID, segment_id: uuid.UUID) -> None:
    session.delete(get_segment(session, project_id, segment_id))
    session.flush()


def search_contacts(session: Session, project_id: uuid.UUID, raw_filter: Any | None,
                    segment_id: uuid.UUID | None, page: PageParams,
                    now: datetime | None = None) -> PageResult[Contact]:
    """One keyset page of the contacts matching a filter or a saved segment."""
    if (raw_filter is None) == (segment_id is None):
        raise Invalid("Give exactly one of filter and segment_id.")
    if segment_id is not None:
        raw_filter = get_segment(session, project_id, segment_id).filter
        spec = parse_filter(raw_filter)
    else:
        spec = check_filter(session, project_id, raw_filter)
    stmt = matching_contacts(spec, project_id, now or utcnow(), _dialect(session))
    return paginate(session, stmt, Contact, page)


def mark_stale(session: Session, project_id: uuid.UUID) -> None:
    """A bulk change (an import) moved the project's contacts: its segments'
    counts go first in the next recount."""
    session.execute(update(Segment).where(Segment.project_id == project_id)
                    .values(counted_at=None))


def recount_stale(session: Session, now: datetime | None = None, limit: int = 10,
                  max_age: timedelta = COUNT_MAX_AGE) -> int:
    """Recount up to ``limit`` segments whose count is missing or older than ``max_age``.

    The new count is written only if the segment was not edited meanwhile.
    """
    now = now or utcnow()
    stale = session.execute(
        select(Segment.id, Segment.project_id, Segment.filter, Segment.updated_at)
        .where(or_(Segment.counted_at.is_(None), Segment.counted_at < now - max_age))
        .order_by(Segment.counted_at.is_not(None), Segment.counted_at).limit(limit)
    ).all()
    for seg_id, project_id, raw, seen in stale:
        count = count_matches(session, project_id, parse_filter(raw), now)
        session.execute(update(Segment)
                        .where(Segment.id == seg_id, Segment.updated_at == seen)
                        .values(count=count, counted_at=now))
    return len(stale)
