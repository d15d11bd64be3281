"""The key correctness gate: SQL and the in-memory evaluator select the same contacts.

Random contacts (traits of every JSON type, numeric and ISO strings, nested
objects, arrays, nulls), accounts, events, list memberships and topic choices
(over topics of either default), and filters over every operator and kind.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from letter.contacts.models import Contact
from letter.db.engine import Database
from letter.segments import service
from letter.segments.evaluate import matches
from letter.segments.filter import parse_filter
from tests.segments.support import NOW, Person, check, insert, make_audience, make_project

KEYS = ["a", "b", "c"]
PATHS = ["a", "a", "b", "b", "c", "n.a", "n.b", "a.x", "missing", "account.a", "account.n.a",
         "email", "external_id", "created_at"]
OPS = ["eq", "neq", "contains", "not_contains", "gt", "gte", "lt", "lte", "exists", "not_exists"]

instants = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1))


@st.composite
def iso_text(draw: st.DrawFn) -> str:
    at = draw(instants)
    date = at.strftime("%Y-%m-%d")
    shape = draw(st.sampled_from(["date", "minutes", "seconds", "fraction", "bad"]))
    if shape == "date":
        return date
    if shape == "bad":
        return draw(st.sampled_from([
            "2026-02-30", "2026-13-01", "2026-00-10", "2026-04-31", "2024-02-29", "2100-02-29",
            "2000-02-29", "2026-05-16T24:00:00", "2026-05-16T24:00:00Z", "2026-5-16",
            "2026-05-16T09:00:00+2", "0000-01-01", "2026-05-16T23:59:59.999Z",
            "2026-05-16T09:00:00.1Z", "2026-05-16T09:00:00.1234567Z", "2026-05-16t09:00:00Z",
            "2026-05-16T09:00:00z", "2026-05-16T09:60:00Z", "2026-05-16Z", "2026-05-16 ",
            "2026-05-16T00:30:00-00:00", "2026-05-16T00:30+14:00", "2026-05-16T00:30+24:00"]))
    sep = draw(st.sampled_from(["T", " "]))
    text = f"{date}{sep}{at:%H:%M}"
    if shape in ("seconds", "fraction"):
        text += f":{at:%S}"
    if shape == "fraction":
        digits = draw(st.integers(1, 6))
        text += "." + f"{at.microsecond:06d}"[:digits]
    zone = draw(st.sampled_from(["", "Z", "+02:00", "-05:30", "+00:00"]))
    return text + zone


floats = st.floats(allow_nan=False, allow_infinity=False)
ints = st.integers(-(2**53), 2**53)
numeric_text = st.one_of(ints.map(str), floats.map(repr), st.sampled_from(
    ["007", "1e5", "-0", "1.50", "5.0", "1E+2", "+5", ".5", "1e9999", "0x10", " 5"]))
plain_text = st.one_of(
    st.sampled_from(["", "true", "false", "free", "pro", "Pro", "a", "abc", "5", "null", "é"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=6),
)
# A shared pool makes traits and filter values collide often, so filters split populations.
POOL = [0, 5, 5.0, -3, 12.5, 1e20, 1.5e-07, 0.1, "5", "5.0", "12.5", "-3", "0.1", "1e20",
        "00", True, False, "true", "false", "pro", "free", "Pro", "", "a", "pr",
        "2026-05-16", "2026-05-16T09:00:00Z", "2026-05-16T11:00+02:00", "2026-05-16 09:00:00.5",
        "2026-05-17T00:00:00.123456Z", "2025-12-31T23:59:59-01:00", "ab12-34-56", "2026-02-30"]
pool = st.sampled_from(POOL)
scalars = st.one_of(pool, pool, pool, st.none(), st.booleans(), ints, floats, numeric_text,
                    iso_text(), plain_text)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from([*KEYS, "x"]), inner, max_size=3)),
    max_leaves=6,
)
traits = st.fixed_dictionaries({}, optional={
    "a": json_values, "b": json_values, "c": json_values,
    "n": st.one_of(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=3), scalars),
})
filter_values = st.one_of(pool, pool, pool, st.booleans(), ints, floats, numeric_text,
                          iso_text(), plain_text)


@st.composite
def trait_nodes(draw: st.DrawFn) -> dict[str, Any]:
    node = {"kind": "trait", "path": draw(st.sampled_from(PATHS)),
            "op": draw(st.sampled_from(OPS))}
    if node["op"] not in ("exists", "not_exists"):
        node["value"] = draw(filter_values)
    return node


@st.composite
def event_nodes(draw: st.DrawFn) -> dict[str, Any]:
    node: dict[str, Any] = {"kind": "event", "eventName": draw(st.sampled_from(["E1", "E2"])),
                            "did": draw(st.booleans())}
    if draw(st.booleans()):
        node["window"] = {"value": draw(st.integers(1, 5)),
                          "unit": draw(st.sampled_from(["hour", "day"]))}
    return node


LISTS, TOPICS = 2, 3
list_nodes = st.builds(lambda ref, b: {"kind": "list", "listId": ref, "member": b},
                       st.sampled_from([*(f"@L{i}" for i in range(LISTS)), "@X"]), st.booleans())
topic_nodes = st.builds(lambda ref, b: {"kind": "topic", "topicId": ref, "subscribed": b},
                        st.sampled_from([*(f"@T{i}" for i in range(TOPICS)), "@X"]),
                        st.booleans())
leaves = st.one_of(trait_nodes(), trait_nodes(), event_nodes(),
                   st.builds(lambda b: {"kind": "suppression", "includesSuppressed": b},
                             st.booleans()), list_nodes, topic_nodes)
filters = st.recursive(leaves, lambda inner: st.builds(
    lambda op, children: {"kind": "group", "op": op, "children": children},
    st.sampled_from(["and", "or"]), st.lists(inner, max_size=3)), max_leaves=6)


@st.composite
def people(draw: st.DrawFn) -> Person:
    events = [(draw(st.sampled_from(["E1", "E2", "E3"])),
               NOW - timedelta(minutes=draw(st.integers(-60, 8 * 24 * 60))))
              for _ in range(draw(st.integers(0, 3)))]
    created = draw(st.one_of(instants, st.sampled_from([datetime(2026, 5, 16, 9)]))
                   ).replace(tzinfo=UTC)
    return Person(
        traits=draw(traits),
        email=draw(st.one_of(st.none(), pool.map(str), plain_text, iso_text(), numeric_text)),
        external_id=draw(st.one_of(st.none(), pool.map(str), plain_text, numeric_text)),
        created_at=created.replace(microsecond=created.microsecond // 1000 * 1000),
        unsubscribed_at=draw(st.sampled_from([None, NOW])),
        account_traits=draw(st.one_of(st.none(), traits)),
        events=events,
        lists=draw(st.sets(st.integers(0, LISTS - 1))),
        topics=draw(st.dictionaries(st.integers(0, TOPICS - 1), st.booleans())),
    )


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(population=st.lists(people(), min_size=2, max_size=10),
       specs=st.lists(filters, min_size=1, max_size=4),
       defaults=st.lists(st.sampled_from(["opt_in", "opt_out"]), min_size=TOPICS,
                         max_size=TOPICS))
def test_sql_and_memory_select_the_same_contacts(db: Database, population: list[Person],
                                                  specs: list[dict[str, Any]],
                                                  defaults: list[str]) -> None:
    with db.session() as session:
        project_id = make_project(session)
        audience = make_audience(session, project_id, LISTS, defaults)
        insert(session, project_id, population, audience)
        for placeholders in specs:
            raw = audience.resolve(placeholders)
            found = check(session, project_id, population, raw)
            # the view the service builds from stored rows agrees too
            spec = parse_filter(raw)
            for person in population:
                contact = session.get(Contact, person.id)
                assert contact is not None
                view = service.contact_view(session, contact, spec)
                assert matches(spec, view, NOW) == (person.id in found), (raw, person)
            event("matched " + ("none" if not found else
                                "all" if len(found) == len(population) else "some"))
