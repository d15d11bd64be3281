"""The contacts list of the dashboard: a keyset page of a project's contacts,
narrowed by a saved segment, a static list, a topic's subscribers, a
subscription status and a search, with a total that never costs a count over
the whole table.

>>> found = browse(session, project.id, PageParams(limit=50), status="unsubscribed",
...                search="ada@")                                     # doctest: +SKIP
>>> found.total_label                                                 # doctest: +SKIP
'3'
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import Session

from letter.audience.models import ListMember
from letter.audience.service import get_list
from letter.audience.topics import get_topic
from letter.clock import utcnow
from letter.contacts.counts import BOUND, bounded_count, totals
from letter.contacts.models import Contact
from letter.db.pagination import PageParams, PageResult, paginate
from letter.errors import Invalid, NotFound
from letter.segments.compile import compile_filter
from letter.segments.filter import ListFilter, TopicFilter, parse_filter
from letter.segments.service import _dialect, get_segment

__all__ = ["Browsed", "Status", "browse"]


class Status(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


@dataclass(frozen=True)
class Browsed:
    page: PageResult[Contact]
    total_label: str
    counted_at: datetime | None


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _audience_spec(session: Session, project_id: uuid.UUID, list_id: uuid.UUID | None,
                   topic_id: uuid.UUID | None) -> list[ListFilter | TopicFilter]:
    """The list and topic filters as the FilterSpec conditions segments use
    (a topic's subscribers: a recorded choice, else the topic's default)."""
    specs: list[ListFilter | TopicFilter] = []
    if list_id is not None:
        try:
            get_list(session, project_id, list_id)
        except NotFound as exc:
            raise Invalid(f"list: {exc.message}") from exc
        specs.append(ListFilter(listId=list_id, member=True))
    if topic_id is not None:
        try:
            get_topic(session, project_id, topic_id)
        except NotFound as exc:
            raise Invalid(f"topic: {exc.message}") from exc
        specs.append(TopicFilter(topicId=topic_id, subscribed=True))
    return specs


def _members(project_id: uuid.UUID, list_id: uuid.UUID) -> Select[uuid.UUID]:
    return select(ListMember.contact_id).where(ListMember.project_id == project_id,
                                               ListMember.list_id == list_id)


def browse(session: Session, project_id: uuid.UUID, page: PageParams, *,
           segment_id: uuid.UUID | None = None, status: str | None = None,
           search: str | None = None, list_id: uuid.UUID | None = None,
           topic_id: uuid.UUID | None = None, now: datetime | None = None) -> Browsed:
    """Contacts in creation order. ``search`` matches the start of an email
    address (any case) or a whole external id; ``list_id`` keeps a list's
    members, ``topic_id`` a topic's subscribers."""
    stmt = select(Contact).where(Contact.project_id == project_id)
    now = now or utcnow()
    segment = None
    if segment_id is not None:
        segment = get_segment(session, project_id, segment_id)
        spec = parse_filter(segment.filter)
        stmt = stmt.where(compile_filter(spec, project_id, now, _dialect(session)))
    audience = _audience_spec(session, project_id, list_id, topic_id)
    members = bounded_count(session, _members(project_id, list_id)) if list_id else 0
    for condition in audience:
        if isinstance(condition, ListFilter) and members is None:
            # A large list: walk contacts in page order and probe membership
            # (an IN over its members would sort them all for every page).
            stmt = stmt.where(exists(_members(project_id, condition.listId)
                                     .where(ListMember.contact_id == Contact.id)))
        else:
            stmt = stmt.where(compile_filter(condition, project_id, now, _dialect(session)))
    if status:
        if status not in set(Status):
            raise Invalid('status: must be "subscribed" or "unsubscribed"')
        missing = status == Status.SUBSCRIBED
        stmt = stmt.where(Contact.unsubscribed_at.is_(None) if missing
                          else Contact.unsubscribed_at.is_not(None))
    search = (search or "").strip()
    if search:
        prefix = search.casefold()
        # The range lets both databases walk the (project_id, email_key) index;
        # LIKE keeps the answer exact whatever the column's collation.
        by_email = and_(Contact.email_key >= prefix, Contact.email_key < prefix + "\U0010ffff",
                        Contact.email_key.like(_like_prefix(prefix), escape="\\"))
        stmt = stmt.where(or_(by_email, Contact.external_id == search))
    result = paginate(session, stmt, Contact, page)
    if segment is not None and not (status or search or audience) and segment.count is not None:
        return Browsed(result, f"{segment.count:,}", segment.counted_at)
    if segment is None and not (search or audience):
        t = totals(session, project_id)
        if not status:
            return Browsed(result, t.label, t.counted_at)
        if t.value is not None and t.suppressed is not None:
            # Both statuses come from the same counters: never a count of a
            # million rows to find the few unsubscribed ones.
            known = t.suppressed if status == Status.UNSUBSCRIBED else t.value - t.suppressed
            return Browsed(result, f"{known:,}", t.counted_at)
    if list_id is not None and not (segment or status or search or topic_id):
        n = members  # a list's rows are its members (they cascade with their contacts)
    else:
        n = bounded_count(session, stmt.with_only_columns(Contact.id))
    return Browsed(result, f"{BOUND:,}+" if n is None else f"{n:,}", None)
