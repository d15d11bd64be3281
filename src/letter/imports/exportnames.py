"""The names of a contact's lists and subscribed topics, for an export's
``lists`` and ``topics`` columns (``"; "``-joined, by name).

Found by index probes per contact, never by a pass over the project's
memberships on every page (quadratic in the project's size):

- PostgreSQL, in the page's own query. A project with a few lists (or
  topics) gets one primary-key probe per list and contact; that costs half
  of the aggregate over the contact's memberships (server time per contact,
  1 M contacts, one list and one topic: 4.4 -> 2.2 µs). A per-page batch
  over an array of the page's ids costs less server time still but more
  client time, and was slower overall (measured).
- SQLite, one query per page driven by the page's ids.

The topic rule is the FilterSpec's: a recorded choice wins; without one, an
``opt_in`` topic is subscribed and an ``opt_out`` one is not.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Text, case, exists, func, literal, literal_column, select
from sqlalchemy.orm import Session

from letter.audience.models import ContactList, ListMember, Topic, TopicDefault, TopicSubscription
from letter.contacts.models import Contact

__all__ = ["FEW", "Named", "named", "pg_lists", "pg_topics", "sqlite_lists", "sqlite_topics"]

FEW = 3  # lists (or topics) a project may have for a probe each

OPT_IN = str(TopicDefault.OPT_IN)
# Subscribed: a recorded choice to be, or no choice on an opt_in topic. The
# choice is found by its primary key (project, topic, contact).
_SUBSCRIBED = (f" AND (m.subscribed OR (m.contact_id IS NULL AND o.\"default\" = '{OPT_IN}'))")

# PostgreSQL, more than FEW: an aggregate over the contact's memberships
# (an index probe each) in the page's query.
_PG_LISTS = ("(SELECT string_agg(o.name, '; ' ORDER BY o.name) FROM list_members m"
             " JOIN lists o ON o.id = m.list_id"
             " WHERE m.project_id = contacts.project_id AND m.contact_id = contacts.id)")
_PG_TOPICS = ("(SELECT string_agg(o.name, '; ' ORDER BY o.name) FROM topics o"
              " LEFT JOIN topic_subscriptions m ON m.project_id = o.project_id"
              " AND m.topic_id = o.id AND m.contact_id = contacts.id"
              " WHERE o.project_id = contacts.project_id" + _SUBSCRIBED + ")")

# SQLite: one query per page driven by the page's ids (json_each of one
# parameter). Without statistics SQLite's planner would rather scan the
# project's memberships through the primary key than probe the contact
# index, hence INDEXED BY. Names come sorted and are joined here:
# group_concat has no ORDER BY before SQLite 3.44.
_SQLITE_LISTS = ("SELECT m.contact_id, o.name FROM json_each(?) p"
                 " JOIN list_members m INDEXED BY ix_list_members_project_id_contact_id"
                 " ON m.project_id = ? AND m.contact_id = p.value"
                 " JOIN lists o ON o.id = m.list_id ORDER BY o.name")
_SQLITE_TOPICS = ("SELECT p.value, o.name FROM json_each(?) p JOIN topics o ON o.project_id = ?"
                  " LEFT JOIN topic_subscriptions m ON m.project_id = o.project_id"
                  " AND m.topic_id = o.id AND m.contact_id = p.value"
                  " WHERE 1 = 1" + _SUBSCRIBED + " ORDER BY o.name")


@dataclass(frozen=True)
class Named:
    """A project's lists (or topics), the first ``FEW + 1`` by name."""

    rows: list[tuple[uuid.UUID, str, bool]]  # id, name, subscribed without a choice

    @property
    def any(self) -> bool:
        return bool(self.rows)

    @property
    def few(self) -> bool:
        return 0 < len(self.rows) <= FEW


def named(session: Session, project_id: uuid.UUID) -> tuple[Named, Named]:
    """The project's lists and topics, ordered by name as the database sorts."""
    lists = session.execute(select(ContactList.id, ContactList.name).where(
        ContactList.project_id == project_id).order_by(ContactList.name).limit(FEW + 1)).all()
    topics = session.execute(select(Topic.id, Topic.name, Topic.default).where(
        Topic.project_id == project_id).order_by(Topic.name).limit(FEW + 1)).all()
    return (Named([(i, n, False) for i, n in lists]),
            Named([(i, n, d == OPT_IN) for i, n, d in topics]))


def _joined(parts: list[Any]) -> Any:
    # NULL when no part is: an empty cell, as string_agg over nothing gives.
    return func.nullif(func.concat_ws("; ", *parts), "")


def pg_lists(lists: Named) -> Any:
    if not lists.any:
        return literal_column("NULL", Text)
    if not lists.few:
        return literal_column(_PG_LISTS, Text)
    c = Contact
    return _joined([case((exists().where(ListMember.project_id == c.project_id,
                                          ListMember.list_id == list_id,
                                          ListMember.contact_id == c.id),
                          literal(name, Text))) for list_id, name, _ in lists.rows])


def pg_topics(topics: Named) -> Any:
    if not topics.any:
        return literal_column("NULL", Text)
    if not topics.few:
        return literal_column(_PG_TOPICS, Text)
    c, s = Contact, TopicSubscription
    parts = []
    for topic_id, name, default in topics.rows:
        choice = (select(s.subscribed).where(s.project_id == c.project_id, s.topic_id == topic_id,
                                             s.contact_id == c.id)
                  .correlate(Contact).scalar_subquery())
        parts.append(case((func.coalesce(choice, literal(default)), literal(name, Text))))
    return _joined(parts)


def sqlite_lists(session: Session, project_id: uuid.UUID, ids: list[str]) -> dict[str, str]:
    """Names by contact id (as SQLite keeps it) for a page's ids."""
    return _sqlite_names(session, project_id, ids, _SQLITE_LISTS)


def sqlite_topics(session: Session, project_id: uuid.UUID, ids: list[str]) -> dict[str, str]:
    return _sqlite_names(session, project_id, ids, _SQLITE_TOPICS)


def _sqlite_names(session: Session, project_id: uuid.UUID, ids: list[str], sql: str
                  ) -> dict[str, str]:
    """``"; "``-joined names by contact id (as SQLite keeps it) for a page's ids."""
    cur = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cur.execute(sql, (orjson.dumps(ids).decode(), project_id.hex))
    pairs = cur.fetchall()
    found = dict(pairs)
    if len(found) == len(pairs):  # one name each, the common case: no Python loop
        return found
    grouped: dict[str, list[str]] = {}
    for contact_id, name in pairs:
        grouped.setdefault(contact_id, []).append(name)
    return {k: "; ".join(v) for k, v in grouped.items()}
