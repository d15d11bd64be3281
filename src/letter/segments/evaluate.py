"""Evaluate a FilterSpec on one contact in memory (branch nodes, trigger filters).

It agrees with the SQL compiler (``compile.py``) contact for contact; a property
test holds both to it.

>>> from datetime import UTC, datetime
>>> from letter.segments.filter import parse_filter
>>> now = datetime(2026, 5, 16, 12, tzinfo=UTC)
>>> view = ContactView(traits={"plan": "pro", "seats": "12"},
...                    events=[("Signed In", datetime(2026, 5, 15, tzinfo=UTC))])
>>> matches(parse_filter({"kind": "trait", "path": "seats", "op": "gt", "value": 9}), view, now)
True
>>> matches(parse_filter({"kind": "event", "eventName": "Signed In", "did": True,
...                       "window": {"value": 1, "unit": "hour"}}), view, now)
False

``segments.service.contact_view`` builds the view of a stored contact.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from letter.clock import iso
from letter.segments.filter import (
    NEGATIVE_OPERATORS,
    EventFilter,
    GroupFilter,
    ListFilter,
    SuppressionFilter,
    TopicFilter,
    TraitFilter,
)
from letter.values import FilterValue, as_instant, as_number, string_form

__all__ = [
    "ContactView",
    "audience_ids",
    "event_names",
    "matches",
    "resolve_path",
    "trait_matches",
    "trait_predicate",
]

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
}


@dataclass
class ContactView:
    """What a filter can see of one contact.

    ``account_traits`` is None when the contact has no account; ``events`` are
    ``(name, occurred_at)`` pairs (only the names the filter mentions are needed).
    ``lists`` holds the lists the contact is in, ``topic_choices`` its explicit
    topic choices, ``opt_in_topics`` the project's topics whose default is
    ``opt_in`` (again, only the lists and topics the filter names are needed).
    """

    traits: dict[str, Any] = field(default_factory=dict)
    email: str | None = None
    external_id: str | None = None
    created_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    account_traits: dict[str, Any] | None = None
    events: Sequence[tuple[str, datetime]] = ()
    lists: frozenset[uuid.UUID] = frozenset()
    topic_choices: Mapping[uuid.UUID, bool] = field(default_factory=dict)
    opt_in_topics: frozenset[uuid.UUID] = frozenset()

    def subscribed(self, topic_id: uuid.UUID) -> bool:
        """An explicit choice wins; else the topic's default."""
        choice = self.topic_choices.get(topic_id)
        return topic_id in self.opt_in_topics if choice is None else choice


def matches(spec: Any, contact: ContactView, now: datetime) -> bool:
    """Does ``contact`` satisfy the FilterSpec ``spec`` at instant ``now``?"""
    if isinstance(spec, GroupFilter):
        results = (matches(child, contact, now) for child in spec.children)
        return all(results) if spec.op == "and" else any(results)
    if isinstance(spec, TraitFilter):
        return _trait(spec, resolve_path(contact, spec.path))
    if isinstance(spec, EventFilter):
        since = now - spec.window.delta() if spec.window else None
        did = any(name == spec.eventName and (since is None or at >= since)
                  for name, at in contact.events)
        return did == spec.did
    if isinstance(spec, SuppressionFilter):
        return spec.includesSuppressed or contact.unsubscribed_at is None
    if isinstance(spec, ListFilter):
        return (spec.listId in contact.lists) == spec.member
    if isinstance(spec, TopicFilter):
        return contact.subscribed(spec.topicId) == spec.subscribed
    raise TypeError(f"not a FilterSpec node: {spec!r}")


def event_names(spec: Any) -> set[str]:
    """The event names a filter looks at (the only events a view needs)."""
    if isinstance(spec, GroupFilter):
        return set().union(*(event_names(child) for child in spec.children))
    return {spec.eventName} if isinstance(spec, EventFilter) else set()


def audience_ids(spec: Any) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """The list ids and topic ids a filter looks at."""
    if isinstance(spec, GroupFilter):
        lists: set[uuid.UUID] = set()
        topics: set[uuid.UUID] = set()
        for child in spec.children:
            more_lists, more_topics = audience_ids(child)
            lists |= more_lists
            topics |= more_topics
        return lists, topics
    if isinstance(spec, ListFilter):
        return {spec.listId}, set()
    if isinstance(spec, TopicFilter):
        return set(), {spec.topicId}
    return set(), set()


def resolve_path(contact: ContactView, path: str) -> Any:
    """The value a trait path addresses, or None when it is missing."""
    if path in ("email", "external_id"):
        return getattr(contact, path)
    if path == "created_at":
        return iso(contact.created_at)
    parts = path.split(".")
    root: Any = contact.traits
    if parts[0] == "account":
        root, parts = contact.account_traits, parts[1:]
    for part in parts:
        if not isinstance(root, dict):
            return None
        root = root.get(part)
    return root


def _trait(spec: TraitFilter, value: Any) -> bool:
    if spec.op in ("exists", "not_exists"):
        return (value is not None) == (spec.op == "exists")
    assert spec.value is not None
    positive = spec.op.removeprefix("not_") if spec.op != "neq" else "eq"
    result = value is not None and _positive(positive, value, FilterValue.of(spec.value))
    return not result if spec.op in NEGATIVE_OPERATORS else result


def _positive(op: str, value: Any, wanted: FilterValue) -> bool:
    if op == "eq":
        return string_form(value) == wanted.text
    if op == "contains":
        if isinstance(value, list):
            return any(string_form(item) == wanted.text for item in value)
        text = string_form(value)
        return text is not None and wanted.text in text
    return _ordered(_ORDER[op], value, wanted)


def _ordered(compare: Callable[[Any, Any], bool], value: Any, wanted: FilterValue) -> bool:
    text = string_form(value)
    if text is None:
        return False  # objects and arrays have no order
    number = as_number(value)
    if number is not None and wanted.number is not None:
        return compare(number, wanted.number)
    if number is None and wanted.instant is not None:
        instant = as_instant(value)
        if instant is not None:
            return compare(instant, wanted.instant)
    return compare(text, wanted.text)


def trait_matches(spec: TraitFilter, value: Any) -> bool:
    """One trait condition against a value already looked up (sequence
    triggers test an event's properties with the same rules)."""
    return _trait(spec, value)


def trait_predicate(spec: TraitFilter) -> Callable[[Any], bool]:
    """``trait_matches`` with the wanted value parsed once, for hot loops
    (trigger ``where`` conditions run on every ingested event)."""
    if spec.op in ("exists", "not_exists"):
        wanted_present = spec.op == "exists"
        return lambda value: (value is not None) == wanted_present
    assert spec.value is not None
    wanted = FilterValue.of(spec.value)
    positive = spec.op.removeprefix("not_") if spec.op != "neq" else "eq"
    negative = spec.op in NEGATIVE_OPERATORS

    def check(value: Any) -> bool:
        result = value is not None and _positive(positive, value, wanted)
        return not result if negative else result

    return check
