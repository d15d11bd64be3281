"""FilterSpec validation: strict, with the failing path in the message."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from letter.errors import Invalid
from letter.segments.filter import EventFilter, GroupFilter, TraitFilter, parse_filter, references
from letter.values import FilterValue, as_instant, as_number, string_form


def group(*children: Any, op: str = "and") -> dict[str, Any]:
    return {"kind": "group", "op": op, "children": list(children)}


T = {"kind": "trait", "path": "plan", "op": "eq", "value": "pro"}
ID = "0190a6f2-7c1e-7000-8000-000000000001"


@pytest.mark.parametrize(("raw", "message"), [
    (group(T, T, {**T, "op": "between"}), 'filter.children[2].op: unknown operator "between"'),
    ({"kind": "segment"}, 'filter.kind: unknown kind "segment" (expected group, trait, event, '
                          'suppression, list or topic)'),
    ({"path": "a"}, "filter.kind: field required"),
    ([], "filter: must be an object"),
    (group(op="xor"), 'filter.op: unknown group operator "xor" (expected and, or)'),
    ({"kind": "group", "op": "and"}, "filter.children: field required"),
    ({"kind": "group", "op": "and", "children": {}}, "filter.children: must be an array"),
    (group(group(5)), "filter.children[0].children[0]: must be an object"),
    ({**T, "extra": 1}, "filter.extra: unknown field"),
    ({"kind": "trait", "path": "a", "op": "exists", "value": 1},
     "filter.value: exists takes no value"),
    ({"kind": "trait", "path": "a", "op": "not_exists", "value": None},
     "filter.value: not_exists takes no value"),
    ({"kind": "trait", "path": "a", "op": "gt"}, "filter.value: gt needs a value"),
    ({**T, "value": None}, "filter.value: must be a string, number or boolean"),
    ({**T, "value": [1]}, "filter.value: must be a string, number or boolean"),
    ({**T, "value": "x" * 1001}, "filter.value: at most 1000 characters"),
    ({**T, "path": ""}, "filter.path: must be a non-empty string"),
    ({**T, "path": "a..b"}, 'filter.path: "a..b" has an empty segment'),
    ({**T, "path": 'a"b'}, 'filter.path: may not contain " or \\'),
    ({**T, "path": "account"}, "filter.path: account needs a trait path, e.g. account.plan"),
    ({"kind": "event", "eventName": "", "did": True},
     "filter.eventName: must be a string of 1-255 characters"),
    ({"kind": "event", "eventName": "x", "did": "yes"}, "filter.did: must be true or false"),
    ({"kind": "event", "eventName": "x", "did": True, "window": {"value": 7, "unit": "week"}},
     'filter.window.unit: unknown unit "week" (expected hour, day)'),
    ({"kind": "event", "eventName": "x", "did": True, "window": {"value": 0, "unit": "day"}},
     "filter.window.value: must be a positive integer"),
    ({"kind": "event", "eventName": "x", "did": True, "window": {"value": 1.5, "unit": "day"}},
     "filter.window.value: must be a positive integer"),
    ({"kind": "event", "eventName": "x", "did": True, "window": {"value": 4000, "unit": "day"}},
     "filter.window.value: at most 3650 days"),
    ({"kind": "event", "eventName": "x", "did": True, "window": {"unit": "day"}},
     "filter.window.value: field required"),
    ({"kind": "suppression"}, "filter.includesSuppressed: field required"),
    ({"kind": "suppression", "includesSuppressed": 0},
     "filter.includesSuppressed: must be true or false"),
    ({"kind": "list", "member": True}, "filter.listId: field required"),
    ({"kind": "list", "listId": "nope", "member": True}, "filter.listId: must be a list id (uuid)"),
    ({"kind": "list", "listId": 5, "member": True}, "filter.listId: must be a list id (uuid)"),
    ({"kind": "list", "listId": ID, "member": "yes"}, "filter.member: must be true or false"),
    ({"kind": "list", "listId": ID}, "filter.member: field required"),
    ({"kind": "list", "listId": ID, "member": True, "subscribed": True},
     "filter.subscribed: unknown field"),
    ({"kind": "topic", "topicId": ID}, "filter.subscribed: field required"),
    ({"kind": "topic", "topicId": "", "subscribed": True},
     "filter.topicId: must be a topic id (uuid)"),
    ({"kind": "topic", "topicId": ID, "subscribed": 1}, "filter.subscribed: must be true or false"),
    (group({"kind": "topic", "listId": ID, "subscribed": True}),
     "filter.children[0].listId: unknown field"),
])
def test_invalid_filters_name_the_failing_path(raw: Any, message: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_filter(raw)
    assert caught.value.message == message


def test_depth_limit_is_ten_levels() -> None:
    node: dict[str, Any] = T
    for _ in range(9):
        node = group(node)
    parse_filter(node)  # ten levels
    with pytest.raises(Invalid, match="nested deeper than 10 levels"):
        parse_filter(group(node))


def test_size_limit_is_two_hundred_nodes() -> None:
    parse_filter(group(*[T] * 199))
    with pytest.raises(Invalid, match=r"filter.children\[199\]: a filter has at most 200 nodes"):
        parse_filter(group(*[T] * 200))


def test_valid_filter_parses_to_typed_nodes() -> None:
    spec = parse_filter(group(T, {"kind": "event", "eventName": "Signed In", "did": False,
                                  "window": {"value": 3, "unit": "hour"}}))
    assert isinstance(spec, GroupFilter)
    assert isinstance(spec.children[0], TraitFilter) and spec.children[0].value == "pro"
    assert isinstance(spec.children[1], EventFilter)
    window = spec.children[1].window
    assert window is not None and window.delta().seconds == 3 * 3600


@pytest.mark.parametrize(("value", "text"), [
    ("x", "x"), (True, "true"), (False, "false"), (5, "5"), (-5, "-5"), (5.0, "5"),
    (0.1, "0.1"), (-0.0, "0"), (1e20, "100000000000000000000"), (1.5e-07, "0.00000015"),
    (0.30000000000000004, "0.30000000000000004"), (None, None), ([1], None), ({}, None),
])
def test_string_forms(value: Any, text: str | None) -> None:
    assert string_form(value) == text


@pytest.mark.parametrize(("value", "number"), [
    ("12", Decimal(12)), ("-0.5", Decimal("-0.5")), ("1e3", Decimal(1000)), (3, Decimal(3)),
    ("007", None), ("+1", None), (".5", None), ("1.", None), (" 1", None), ("1e1000", None),
    ("0x10", None), (True, None), ("", None), ("\u0661", None),
])
def test_numeric_strings(value: Any, number: Decimal | None) -> None:
    assert as_number(value) == number


@pytest.mark.parametrize(("value", "instant"), [
    ("2026-05-16", datetime(2026, 5, 16)),
    ("2026-05-16T09:00", datetime(2026, 5, 16, 9)),
    ("2026-05-16 09:00:30", datetime(2026, 5, 16, 9, 0, 30)),
    ("2026-05-16T09:00:00.1239Z", datetime(2026, 5, 16, 9, 0, 0, 123000)),
    ("2026-05-16T11:00:00+02:00", datetime(2026, 5, 16, 9)),
    ("2026-05-16T00:30:00-01:00", datetime(2026, 5, 16, 1, 30)),
    ("2026-02-30", None), ("2026-13-01", None), ("2026-05-16T24:00", None),
    ("2026-05-16T09", None), ("2026-5-16", None), ("2026-05-16Z", None), ("0000-01-01", None),
    ("2026-05-16T09:00:00.1234567", None), ("16/05/2026", None), (20260516, None),
])
def test_instant_strings(value: Any, instant: datetime | None) -> None:
    assert as_instant(value) == instant


def test_filter_value_classification() -> None:
    assert FilterValue.of(5).number == 5 and FilterValue.of(5).text == "5"
    assert FilterValue.of("2026-05-16").instant == datetime(2026, 5, 16)
    assert FilterValue.of("2026").instant is None and FilterValue.of("2026").number == 2026
    assert FilterValue.of("5.0").exact_number is None  # no number's string form is "5.0"
    assert FilterValue.of("5").exact_number == 5
    assert FilterValue.of("0.1000000000000000000001").exact_number is None


def test_list_and_topic_nodes_parse_and_name_their_references() -> None:
    spec = parse_filter(group({"kind": "list", "listId": ID, "member": False},
                              group({"kind": "topic", "topicId": ID.upper(), "subscribed": True})))
    assert [(p, k, str(i)) for p, k, i in references(spec)] == [
        ("filter.children[0].listId", "list", ID),
        ("filter.children[1].children[0].topicId", "topic", ID)]
