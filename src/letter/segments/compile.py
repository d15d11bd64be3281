"""Compile a FilterSpec into one SQL boolean over ``contacts`` (no per-contact loop).

>>> cond = compile_filter(spec, project.id, utcnow(), dialect="postgresql")  # doctest: +SKIP
>>> session.scalar(select(func.count()).select_from(Contact)
...                .where(Contact.project_id == project.id, cond))        # doctest: +SKIP

The expression references the ``contacts`` table (``Contact``) and correlates
subqueries over ``accounts`` and ``events``; combine it with
``Contact.project_id == project_id`` in any select (counts, pages, broadcasts,
exports). ``matching_contacts`` builds that select.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, exists, false, func, not_, or_, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from letter.audience.models import ListMember, Topic, TopicDefault, TopicSubscription
from letter.contacts.models import Account, Contact, Event
from letter.segments.filter import (
    NEGATIVE_OPERATORS,
    EventFilter,
    GroupFilter,
    ListFilter,
    SuppressionFilter,
    TopicFilter,
    TraitFilter,
)
from letter.segments.sqlvalue import PgJson, SqliteJson, TextValue, Value
from letter.values import FilterValue

__all__ = ["compile_filter", "matching_contacts"]

Expr = ColumnElement[Any]


def compile_filter(spec: Any, project_id: uuid.UUID, now: datetime,
                   dialect: str) -> ColumnElement[bool]:
    """The SQL condition a ``contacts`` row must meet to match ``spec`` at ``now``.

    ``dialect`` is ``"sqlite"`` or ``"postgresql"`` (``session.get_bind().dialect.name``).
    """
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported dialect {dialect!r}")
    return _Compiler(project_id, now, dialect).node(spec)


def matching_contacts(spec: Any, project_id: uuid.UUID, now: datetime,
                      dialect: str) -> Select[Any]:
    """``SELECT contacts`` of the project that match ``spec``."""
    return select(Contact).where(Contact.project_id == project_id,
                                 compile_filter(spec, project_id, now, dialect))


class _Compiler:
    def __init__(self, project_id: uuid.UUID, now: datetime, dialect: str) -> None:
        self.project_id, self.now, self.dialect = project_id, now, dialect

    def node(self, spec: Any) -> Expr:
        if isinstance(spec, GroupFilter):
            parts = [self.node(child) for child in spec.children]
            if not parts:
                return true() if spec.op == "and" else false()
            return and_(*parts) if spec.op == "and" else or_(*parts)
        if isinstance(spec, TraitFilter):
            return self.trait(spec)
        if isinstance(spec, EventFilter):
            return self.event(spec)
        if isinstance(spec, SuppressionFilter):
            return true() if spec.includesSuppressed else Contact.unsubscribed_at.is_(None)
        if isinstance(spec, ListFilter):
            return self.member(spec)
        if isinstance(spec, TopicFilter):
            found = self.subscribed(spec.topicId)
            return found if spec.subscribed else not_(found)
        raise TypeError(f"not a FilterSpec node: {spec!r}")

    def trait(self, spec: TraitFilter) -> Expr:
        parts = spec.path.split(".")
        if parts[0] == "account":
            account = aliased(Account, name="filter_account")
            positive = self.positive(spec, self.json(account.traits, parts[1:]))
            found = exists(select(account.id).where(account.id == Contact.account_id, positive))
            return not_(found) if spec.op in NEGATIVE_OPERATORS else found
        value = self.column(spec.path) or self.json(Contact.traits, parts)
        positive = self.positive(spec, value)
        return not_(positive) if spec.op in NEGATIVE_OPERATORS else positive

    def positive(self, spec: TraitFilter, value: Value) -> Expr:
        """The un-negated test: exists, eq, contains or an ordering."""
        if spec.op in ("exists", "not_exists"):
            return value.present()
        assert spec.value is not None
        wanted = FilterValue.of(spec.value)
        if spec.op in ("eq", "neq"):
            return value.eq(wanted)
        if spec.op in ("contains", "not_contains"):
            return value.contains(wanted)
        return value.ordered(spec.op, wanted)

    def json(self, document: Any, keys: list[str]) -> Value:
        if self.dialect == "postgresql":
            return PgJson(document, keys)
        return SqliteJson(document, keys)

    def column(self, path: str) -> Value | None:
        if path == "email":
            return TextValue(Contact.email, self.dialect)
        if path == "external_id":
            return TextValue(Contact.external_id, self.dialect)
        if path == "created_at":
            return TextValue(self.created_at_text(), self.dialect)
        return None

    def created_at_text(self) -> Expr:
        """created_at as the API writes it: ``2026-05-16T09:00:00.000Z`` (ms, truncated)."""
        if self.dialect == "postgresql":
            return func.to_char(func.timezone("UTC", Contact.created_at),
                                'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        # SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff" in UTC
        stored = Contact.created_at.cast(String())
        return (func.substr(stored, 1, 10).concat("T")
                .concat(func.substr(stored, 12, 12)).concat("Z"))

    def event(self, spec: EventFilter) -> Expr:
        conditions = [Event.project_id == self.project_id, Event.name == spec.eventName]
        if spec.window is not None:
            conditions.append(Event.occurred_at >= self.now - spec.window.delta())
        if self.dialect == "postgresql":
            # (NOT) EXISTS plans as a semi/anti-join over the events index.
            found = exists(select(Event.id).where(Event.contact_id == Contact.id, *conditions))
            return found if spec.did else not_(found)
        # SQLite builds the contact set once from the (project, name, occurred_at) index.
        ids = select(Event.contact_id).where(*conditions, Event.contact_id.is_not(None))
        return Contact.id.in_(ids) if spec.did else Contact.id.not_in(ids)

    def member(self, spec: ListFilter) -> Expr:
        conditions = [ListMember.project_id == self.project_id, ListMember.list_id == spec.listId]
        if self.dialect == "postgresql":
            found = exists(select(ListMember.contact_id).where(
                ListMember.contact_id == Contact.id, *conditions))
            return found if spec.member else not_(found)
        ids = select(ListMember.contact_id).where(*conditions)
        return Contact.id.in_(ids) if spec.member else Contact.id.not_in(ids)

    def subscribed(self, topic_id: uuid.UUID) -> Expr:
        """The contact's choice for the topic, else the topic's default.

        The two tests on ``topics`` do not depend on the contact: the database
        runs them once, and only one of the two arms is ever read.
        """
        def default_is(value: str) -> Expr:
            return exists(select(Topic.id).where(Topic.id == topic_id,
                                                 Topic.project_id == self.project_id,
                                                 Topic.default == value))

        def chose(subscribed: bool) -> Expr:
            return exists(select(TopicSubscription.contact_id).where(
                TopicSubscription.project_id == self.project_id,
                TopicSubscription.topic_id == topic_id,
                TopicSubscription.contact_id == Contact.id,
                TopicSubscription.subscribed.is_(subscribed)))

        return or_(and_(default_is(TopicDefault.OPT_IN), not_(chose(False))),
                   and_(default_is(TopicDefault.OPT_OUT), chose(True)))
