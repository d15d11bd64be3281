"""The list and topic kinds rule by rule, on every database: each case asserts
the expected contacts and that SQL and the in-memory evaluator agree.

Topic rule: an explicit choice wins; without one, an ``opt_in`` topic counts
the contact as subscribed and an ``opt_out`` topic as not subscribed.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete

from letter.audience.models import Topic
from letter.db.engine import Database
from letter.segments.evaluate import ContactView
from tests.segments.support import Person, check, insert, make_audience, make_project

# name -> (lists, topic choices); topic 0 is opt_in, topic 1 opt_out.
PEOPLE: dict[str, tuple[set[int], dict[int, bool]]] = {
    "none": (set(), {}),
    "first": ({0}, {0: True, 1: True}),
    "both": ({0, 1}, {0: False, 1: False}),
    "second": ({1}, {1: True}),
    "left": (set(), {0: False}),
}


@pytest.fixture
def world(db: Database) -> Any:
    with db.session() as session:
        project_id = make_project(session)
        audience = make_audience(session, project_id, 2, ["opt_in", "opt_out"])
        people = {name: Person(lists=set(lists), topics=dict(topics))
                  for name, (lists, topics) in PEOPLE.items()}
        insert(session, project_id, list(people.values()), audience)

        def run(raw: dict[str, Any]) -> set[str]:
            found = check(session, project_id, list(people.values()), audience.resolve(raw))
            return {name for name, p in people.items() if p.id in found}

        yield run, session, audience, people
        session.rollback()


def list_(ref: str, member: bool) -> dict[str, Any]:
    return {"kind": "list", "listId": ref, "member": member}


def topic(ref: str, subscribed: bool) -> dict[str, Any]:
    return {"kind": "topic", "topicId": ref, "subscribed": subscribed}


@pytest.mark.parametrize(("node", "expected"), [
    (list_("@L0", True), {"first", "both"}),
    (list_("@L0", False), {"none", "second", "left"}),
    (list_("@L1", True), {"both", "second"}),
    (list_("@X", True), set()),
    (list_("@X", False), set(PEOPLE)),
    # opt_in: everyone without an explicit "no"
    (topic("@T0", True), {"none", "first", "second"}),
    (topic("@T0", False), {"both", "left"}),
    # opt_out: only an explicit "yes"
    (topic("@T1", True), {"first", "second"}),
    (topic("@T1", False), {"none", "both", "left"}),
    (topic("@X", True), set()),
    (topic("@X", False), set(PEOPLE)),
    ({"kind": "group", "op": "and", "children": [list_("@L0", True), topic("@T0", True)]},
     {"first"}),
])
def test_list_and_topic_rules(world: Any, node: dict[str, Any], expected: set[str]) -> None:
    run, *_ = world
    assert run(node) == expected


def test_a_deleted_topic_subscribes_nobody(world: Any) -> None:
    run, session, audience, people = world
    session.execute(delete(Topic).where(Topic.id == audience.topics[0]))
    # what the evaluator then sees: no opt_in topic, no choices left for it
    audience.opt_in = frozenset()
    for person in people.values():
        person.topics.pop(0, None)
    assert run(topic("@T0", True)) == set()
    assert run(topic("@T0", False)) == set(PEOPLE)


def test_view_defaults_follow_the_topic() -> None:
    from uuid import uuid4

    opt_in, opt_out = uuid4(), uuid4()
    view = ContactView(topic_choices={opt_out: True}, opt_in_topics=frozenset({opt_in}))
    assert view.subscribed(opt_in) and view.subscribed(opt_out)
    assert not ContactView().subscribed(opt_in)


def test_another_projects_list_and_topic_do_not_count(db: Database) -> None:
    with db.session() as session:
        mine, other = make_project(session), make_project(session)
        theirs = make_audience(session, other, 1, ["opt_in"])
        person = Person()
        insert(session, mine, [person])
        raw_list = {"kind": "list", "listId": str(theirs.lists[0]), "member": True}
        raw_topic = {"kind": "topic", "topicId": str(theirs.topics[0]), "subscribed": True}
        # The evaluator sees no membership and no opt_in topic of this project either.
        assert check(session, mine, [person], raw_list) == set()
        assert check(session, mine, [person], raw_topic) == set()
        session.rollback()
