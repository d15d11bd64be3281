"""Helpers: a bare project, contacts with accounts and events, and both evaluators."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from letter.audience.models import ContactList, ListMember, Topic, TopicSubscription
from letter.auth.models import Workspace
from letter.contacts.models import Account, Contact, Event
from letter.projects.models import Project
from letter.segments.compile import matching_contacts
from letter.segments.evaluate import ContactView, matches
from letter.segments.filter import parse_filter

NOW = datetime(2026, 5, 16, 12, 0, tzinfo=UTC)


def make_project(session: Session, workspace_id: uuid.UUID | None = None) -> uuid.UUID:
    if workspace_id is None:
        workspace = Workspace(name="ws")
        session.add(workspace)
        session.flush()
        workspace_id = workspace.id
    tag = uuid.uuid4().hex[:12]
    project = Project(workspace_id=workspace_id, slug=f"p-{tag}", name="P",
                      assigned_subdomain=f"s-{tag}")
    session.add(project)
    session.flush()
    return project.id


@dataclass
class Person:
    """A contact to insert, and what the in-memory evaluator sees of it."""

    traits: dict[str, Any] = field(default_factory=dict)
    email: str | None = None
    external_id: str | None = None
    created_at: datetime = NOW
    unsubscribed_at: datetime | None = None
    account_traits: dict[str, Any] | None = None
    events: list[tuple[str, datetime]] = field(default_factory=list)
    # Indexes into the Audience's lists and topics (a topic choice: subscribed or not).
    lists: set[int] = field(default_factory=set)
    topics: dict[int, bool] = field(default_factory=dict)
    id: uuid.UUID | None = None
    audience: Audience | None = None

    def view(self) -> ContactView:
        a = self.audience
        return ContactView(traits=self.traits, email=self.email, external_id=self.external_id,
                           created_at=self.created_at, unsubscribed_at=self.unsubscribed_at,
                           account_traits=self.account_traits, events=self.events,
                           lists=frozenset(a.lists[i] for i in self.lists) if a else frozenset(),
                           topic_choices={a.topics[i]: s for i, s in self.topics.items()}
                           if a else {},
                           opt_in_topics=a.opt_in if a else frozenset())


# Exact placeholders only: generated text values may start with "@" too.
_PLACEHOLDER = re.compile(r"@(?:([LT])(\d+)|X)")


@dataclass
class Audience:
    """A project's lists and topics; ``opt_in`` are the topics whose default is opt_in."""

    lists: list[uuid.UUID]
    topics: list[uuid.UUID]
    opt_in: frozenset[uuid.UUID]

    def resolve(self, raw: Any) -> Any:
        """A filter with placeholders ``"@L0"`` (list 0), ``"@T1"`` (topic 1)
        and ``"@X"`` (an id of nothing) turned into ids."""
        if isinstance(raw, dict):
            return {k: self.resolve(v) for k, v in raw.items()}
        if isinstance(raw, list):
            return [self.resolve(v) for v in raw]
        if isinstance(raw, str) and (match := _PLACEHOLDER.fullmatch(raw)):
            if raw == "@X":
                return str(uuid.UUID(int=7))
            pool = self.lists if match[1] == "L" else self.topics
            return str(pool[int(match[2])])
        return raw


def make_audience(session: Session, project_id: uuid.UUID, lists: int,
                  defaults: list[str]) -> Audience:
    made = [ContactList(project_id=project_id, name=f"list {i}") for i in range(lists)]
    topics = [Topic(project_id=project_id, name=f"topic {i}", default=d)
              for i, d in enumerate(defaults)]
    session.add_all([*made, *topics])
    session.flush()
    return Audience([m.id for m in made], [t.id for t in topics],
                    frozenset(t.id for t in topics if t.default == "opt_in"))


def insert(session: Session, project_id: uuid.UUID, people: list[Person],
           audience: Audience | None = None) -> None:
    seen: set[str] = set()
    for person in people:
        if person.external_id in seen:  # unique per project
            person.external_id = None
        if person.external_id is not None:
            seen.add(person.external_id)
        account_id = None
        if person.account_traits is not None:
            account = Account(project_id=project_id, external_id=f"acct-{uuid.uuid4().hex}",
                              traits=person.account_traits)
            session.add(account)
            session.flush()
            account_id = account.id
        contact = Contact(project_id=project_id, external_id=person.external_id,
                          email=person.email, traits=person.traits, account_id=account_id,
                          created_at=person.created_at, unsubscribed_at=person.unsubscribed_at)
        session.add(contact)
        session.flush()
        person.id = contact.id
        for name, at in person.events:
            session.add(Event(project_id=project_id, name=name, contact_id=contact.id,
                              occurred_at=at))
        if audience is not None:
            person.audience = audience
            session.add_all([ListMember(project_id=project_id, list_id=audience.lists[i],
                                        contact_id=contact.id) for i in person.lists])
            session.add_all([TopicSubscription(project_id=project_id,
                                               topic_id=audience.topics[i],
                                               contact_id=contact.id, subscribed=chosen)
                             for i, chosen in person.topics.items()])
    session.flush()


def sql_ids(session: Session, project_id: uuid.UUID, spec: Any,
            now: datetime = NOW) -> set[uuid.UUID]:
    dialect = session.get_bind().dialect.name
    stmt = matching_contacts(spec, project_id, now, dialect).with_only_columns(Contact.id)
    return set(session.scalars(stmt))


def memory_ids(people: list[Person], spec: Any, now: datetime = NOW) -> set[uuid.UUID]:
    return {p.id for p in people if p.id is not None and matches(spec, p.view(), now)}


def trait(path: str, op: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    node = {"kind": "trait", "path": path, "op": op, **extra}
    if op not in ("exists", "not_exists"):
        node["value"] = value
    return node


def check(session: Session, project_id: uuid.UUID, people: list[Person], raw: dict[str, Any],
          now: datetime = NOW) -> set[uuid.UUID]:
    """Both evaluators agree on ``raw``; returns the matching ids."""
    spec = parse_filter(raw)
    in_sql = sql_ids(session, project_id, spec, now)
    in_memory = memory_ids(people, spec, now)
    assert in_sql == in_memory, (raw, in_sql, in_memory)
    return in_sql


def ids(*people: Person) -> set[uuid.UUID]:
    return {p.id for p in people if p.id is not None}


__all__ = [
    "NOW",
    "Audience",
    "Person",
    "check",
    "ids",
    "insert",
    "make_audience",
    "make_project",
    "memory_ids",
    "sql_ids",
    "trait",
]
