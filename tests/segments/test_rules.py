"""FilterSpec semantics rule by rule, on every database: each case asserts the
expected contacts and that SQL and the in-memory evaluator agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from letter.db.engine import Database
from tests.segments.support import NOW, Person, check, insert, make_project, trait

# name -> traits; each test names the people it expects.
POPULATION: dict[str, dict[str, Any]] = {
    "pro": {"plan": "pro", "mrr": 120, "seats": "12", "beta": True, "tags": ["vip", 5, True],
            "signup": "2026-01-15T10:00:00Z", "company": {"size": 50, "name": "Acme"}},
    "free": {"plan": "free", "mrr": 0, "seats": "3", "beta": False, "tags": ["trial"],
             "signup": "2026-03-01", "company": {"size": "9"}},
    "float": {"plan": "Pro", "mrr": 99.5, "seats": 12.0, "beta": "true", "tags": [],
              "signup": "2026-01-15T11:00:00+02:00", "company": "none"},
    "nulls": {"plan": None, "mrr": None, "tags": None, "company": {"size": None}},
    "empty": {},
    "odd": {"plan": "", "mrr": "n/a", "seats": "007", "signup": "not a date",
            "tags": [["vip"], {"a": "vip"}], "company": {"size": [50]}},
}


@pytest.fixture
def world(db: Database) -> Any:
    with db.session() as session:
        project_id = make_project(session)
        people = {name: Person(traits=traits, email=f"{name}@example.com",
                               external_id=f"user_{name}",
                               created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i))
                  for i, (name, traits) in enumerate(POPULATION.items())}
        people["pro"].account_traits = {"plan": "team", "seats": 40}
        people["free"].account_traits = {}
        people["pro"].events = [("Signed In", NOW - timedelta(hours=2)),
                                ("Upgraded", NOW - timedelta(days=40))]
        people["free"].events = [("Signed In", NOW - timedelta(days=3))]
        people["float"].events = [("Signed In", NOW - timedelta(days=10))]
        people["odd"].unsubscribed_at = NOW
        people["empty"].email = None
        insert(session, project_id, list(people.values()))

        def run(raw: dict[str, Any]) -> set[str]:
            found = check(session, project_id, list(people.values()), raw)
            return {name for name, p in people.items() if p.id in found}

        yield run
        session.rollback()


ALL = set(POPULATION)


def names(*items: str) -> set[str]:
    return set(items)


@pytest.mark.parametrize(("node", "expected"), [
    # eq / neq compare string forms; missing and null match neq only
    (trait("plan", "eq", "pro"), names("pro")),
    (trait("plan", "eq", "PRO"), names()),
    (trait("plan", "neq", "free"), ALL - names("free")),
    (trait("beta", "eq", True), names("pro", "float")),
    (trait("beta", "eq", "true"), names("pro", "float")),
    (trait("beta", "neq", "false"), ALL - names("free")),
    (trait("mrr", "eq", "120"), names("pro")),
    (trait("mrr", "eq", 0), names("free")),
    (trait("seats", "eq", 12), names("pro", "float")),
    (trait("seats", "eq", "12.0"), names()),
    (trait("mrr", "eq", 99.5), names("float")),
    (trait("plan", "eq", ""), names("odd")),
    (trait("company", "eq", "none"), names("float")),
    (trait("tags", "eq", "vip"), names()),
    # contains: substring of the string form, element equality on arrays
    (trait("plan", "contains", "r"), names("pro", "free", "float")),
    (trait("plan", "contains", ""), names("pro", "free", "float", "odd")),
    (trait("mrr", "contains", "9"), names("float")),
    (trait("beta", "contains", "ru"), names("pro", "float")),
    (trait("tags", "contains", "vip"), names("pro")),
    (trait("tags", "contains", "5"), names("pro")),
    (trait("tags", "contains", True), names("pro")),
    (trait("tags", "contains", "vi"), names()),
    (trait("company", "contains", "Acme"), names()),
    (trait("tags", "not_contains", "vip"), ALL - names("pro")),
    (trait("plan", "not_contains", "r"), names("nulls", "empty", "odd")),
    # ordering: numbers (incl. numeric strings), then instants, then strings
    (trait("mrr", "gt", 50), names("pro", "float", "odd")),  # "n/a" > "50" as strings
    (trait("mrr", "gte", "99.5"), names("pro", "float", "odd")),
    (trait("mrr", "lt", 100), names("free", "float")),
    (trait("mrr", "lte", 0), names("free")),
    (trait("seats", "gt", 5), names("pro", "float")),  # "007" is not a number: "007" < "5"
    (trait("seats", "gt", "5"), names("pro", "float")),
    (trait("company.size", "gte", 10), names("pro")),
    (trait("company.size", "lt", 10), names("free")),
    (trait("signup", "gt", "2026-01-15T09:30:00Z"), names("pro", "free", "odd")),
    (trait("signup", "lt", "2026-01-15T10:00:00.001Z"), names("pro", "float")),
    (trait("signup", "gte", "2026-03-01T00:00:00+00:00"), names("free", "odd")),
    (trait("signup", "lte", "2026-01-15"), names()),
    (trait("plan", "gt", "free"), names("pro")),  # "Pro" < "free": code-point order
    (trait("plan", "lt", "free"), names("float", "odd")),
    (trait("mrr", "gt", "m"), names("odd")),
    (trait("beta", "gt", "false"), names("pro", "float")),
    (trait("tags", "gt", ""), names()),
    # exists / not_exists: null counts as missing
    (trait("plan", "exists"), names("pro", "free", "float", "odd")),
    (trait("plan", "not_exists"), names("nulls", "empty")),
    (trait("company.size", "exists"), names("pro", "free", "odd")),
    (trait("company.size.x", "not_exists"), ALL),
    (trait("nope", "neq", "x"), ALL),
    (trait("nope", "gt", 0), names()),
    # columns
    (trait("email", "eq", "pro@example.com"), names("pro")),
    (trait("email", "exists"), ALL - names("empty")),
    (trait("email", "contains", "@example"), ALL - names("empty")),
    (trait("external_id", "gte", "user_nulls"), names("pro", "nulls", "odd")),
    (trait("created_at", "gte", "2026-01-04T00:00:00Z"), names("nulls", "empty", "odd")),
    (trait("created_at", "eq", "2026-01-01T00:00:00.000Z"), names("pro")),
    (trait("created_at", "contains", "01-02"), names("free")),
    # account traits; no account = missing
    (trait("account.plan", "eq", "team"), names("pro")),
    (trait("account.seats", "gt", 30), names("pro")),
    (trait("account.plan", "neq", "team"), ALL - names("pro")),
    (trait("account.plan", "not_exists"), ALL - names("pro")),
    (trait("account.plan", "exists"), names("pro")),
])
def test_trait_rules(world: Any, node: dict[str, Any], expected: set[str]) -> None:
    assert world(node) == expected


def event(name: str, did: bool, window: tuple[int, str] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"kind": "event", "eventName": name, "did": did}
    if window:
        node["window"] = {"value": window[0], "unit": window[1]}
    return node


@pytest.mark.parametrize(("node", "expected"), [
    (event("Signed In", True), names("pro", "free", "float")),
    (event("Signed In", False), names("nulls", "empty", "odd")),
    (event("Signed In", True, (1, "hour")), names()),
    (event("Signed In", True, (3, "hour")), names("pro")),
    (event("Signed In", True, (3, "day")), names("pro", "free")),
    (event("Signed In", True, (7, "day")), names("pro", "free")),
    (event("Signed In", False, (7, "day")), ALL - names("pro", "free")),
    (event("Upgraded", True, (30, "day")), names()),
    (event("Upgraded", True, (41, "day")), names("pro")),
    (event("Never", False), ALL),
    ({"kind": "suppression", "includesSuppressed": False}, ALL - names("odd")),
    ({"kind": "suppression", "includesSuppressed": True}, ALL),
    ({"kind": "group", "op": "and", "children": []}, ALL),
    ({"kind": "group", "op": "or", "children": []}, names()),
    ({"kind": "group", "op": "and", "children": [trait("plan", "neq", "free"),
                                                event("Signed In", True, (7, "day"))]},
     names("pro")),
    ({"kind": "group", "op": "or", "children": [
        trait("plan", "eq", "free"),
        {"kind": "group", "op": "and", "children": [
            trait("mrr", "gt", 50),
            {"kind": "group", "op": "or", "children": [trait("beta", "eq", "true"),
                                                      trait("account.plan", "eq", "x")]}]}]},
     names("free", "pro", "float")),
])
def test_event_suppression_and_group_rules(world: Any, node: dict[str, Any],
                                           expected: set[str]) -> None:
    assert world(node) == expected


def test_window_boundary_is_inclusive(db: Database) -> None:
    with db.session() as session:
        project_id = make_project(session)
        edge = Person(events=[("Seen", NOW - timedelta(days=1))])
        past = Person(events=[("Seen", NOW - timedelta(days=1, microseconds=1))])
        future = Person(events=[("Seen", NOW + timedelta(hours=1))])
        insert(session, project_id, [edge, past, future])
        found = check(session, project_id, [edge, past, future],
                      event("Seen", True, (24, "hour")))
        assert found == {edge.id, future.id}
        session.rollback()


def test_other_projects_events_do_not_count(db: Database) -> None:
    with db.session() as session:
        project_id = make_project(session)
        other = make_project(session)
        mine = Person()
        insert(session, project_id, [mine])
        theirs = Person(events=[("Seen", NOW)])
        insert(session, other, [theirs])
        from letter.contacts.models import Event

        # an event of another project pointing at my contact must not count
        session.add(Event(project_id=other, name="Seen", contact_id=mine.id, occurred_at=NOW))
        session.flush()
        assert check(session, project_id, [mine], event("Seen", True)) == set()
        session.rollback()


INSTANT_TEXTS = [
    "2026-05-16", "2026-05-16T09:00", "2026-05-16 09:00:30", "2026-05-16T09:00:00Z",
    "2026-05-16T09:00:00.123Z", "2026-05-16T09:00:00.1239Z", "2026-05-16T11:00:00+02:00",
    "2026-05-16T08:30:00-00:30", "2026-05-16T09:00:00+00:00", "2026-02-30", "2026-04-31",
    "2024-02-29", "2100-02-29", "2026-05-16T24:00:00Z", "2026-05-16T09:60:00Z", "0000-01-01",
    "2026-05-16t09:00:00Z", "2026-05-16T09:00:00.1234567Z", "20260516", "May 16, 2026",
]


@pytest.mark.parametrize("op", ["gt", "gte", "lt", "lte"])
@pytest.mark.parametrize("value", ["2026-05-16T09:00:00Z", "2026-05-16", "2026-05-16T10:59+02:00",
                                   "2026-05-16T09:00:00.123Z", "2026"])
def test_instant_shapes_agree(db: Database, op: str, value: str) -> None:
    with db.session() as session:
        project_id = make_project(session)
        people = [Person(traits={"at": t}) for t in INSTANT_TEXTS]
        insert(session, project_id, people)
        check(session, project_id, people, trait("at", op, value))
        session.rollback()


def test_instants_compare_as_instants_not_text(db: Database) -> None:
    with db.session() as session:
        project_id = make_project(session)
        paris = Person(traits={"at": "2026-05-16T10:30:00+02:00"})  # 08:30 UTC
        utc = Person(traits={"at": "2026-05-16T09:00:00Z"})
        date = Person(traits={"at": "2026-05-16"})  # midnight UTC
        bogus = Person(traits={"at": "2026-02-30"})  # not an instant: compared as text
        people = [paris, utc, date, bogus]
        insert(session, project_id, people)
        assert check(session, project_id, people, trait("at", "lt", "2026-05-16T09:00:00Z")) \
            == {paris.id, date.id, bogus.id}
        assert check(session, project_id, people, trait("at", "gte", "2026-05-16T08:30Z")) \
            == {paris.id, utc.id}
        session.rollback()


@pytest.mark.parametrize("value", ["vip", "v", "a,b", "x]", ""])
def test_array_contains_with_escapes_and_nesting(db: Database, value: str) -> None:
    arrays = [["vip"], ['x"vip'], ['x"', "vip"], ["vip\\"], ["a,b"], ['"vip"'], [{"vip": 1}],
              [["vip"]], ["é", "vip"], ["é"], ["x]"], ['a","b'], [], [""], ["vipers"], [5, "vip"]]
    with db.session() as session:
        project_id = make_project(session)
        people = [Person(traits={"tags": a}) for a in arrays]
        insert(session, project_id, people)
        found = check(session, project_id, people, trait("tags", "contains", value))
        assert found == {p.id for p in people if value in p.traits["tags"]}
        session.rollback()
