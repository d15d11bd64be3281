"""FilterSpec: the tree that selects contacts (segments, audiences, triggers, branches).

``parse_filter`` validates raw JSON strictly and names the failing path in its
error, then returns typed models:

>>> spec = parse_filter({"kind": "group", "op": "and", "children": [
...     {"kind": "trait", "path": "plan", "op": "neq", "value": "free"},
...     {"kind": "event", "eventName": "Signed In", "did": True,
...      "window": {"value": 7, "unit": "day"}}]})
>>> parse_filter({"kind": "group", "op": "and", "children": [{"kind": "trait", "path": "a",
...     "op": "between", "value": 1}]})
Traceback (most recent call last):
letter.errors.Invalid: filter.children[0].op: unknown operator "between"
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from letter.errors import Invalid

__all__ = [
    "COLUMN_PATHS",
    "MAX_DEPTH",
    "MAX_NODES",
    "OPERATORS",
    "EventFilter",
    "FilterSpec",
    "GroupFilter",
    "ListFilter",
    "SuppressionFilter",
    "TopicFilter",
    "TraitFilter",
    "Window",
    "filter_json_schema",
    "parse_filter",
    "references",
]

MAX_DEPTH = 10
MAX_NODES = 200
MAX_VALUE_CHARS = 1000
MAX_PATH_CHARS = 255
MAX_WINDOW = {"hour": 24 * 3650, "day": 3650}
OPERATORS = ("eq", "neq", "contains", "not_contains", "gt", "gte", "lt", "lte",
             "exists", "not_exists")
NEGATIVE_OPERATORS = frozenset({"neq", "not_contains", "not_exists"})
COLUMN_PATHS = frozenset({"email", "external_id", "created_at"})

TraitOp = Literal["eq", "neq", "contains", "not_contains", "gt", "gte", "lt", "lte",
                  "exists", "not_exists"]
Scalar = str | bool | int | float


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Node):
    value: int = Field(ge=1)
    unit: Literal["hour", "day"]

    def delta(self) -> timedelta:
        return timedelta(hours=self.value) if self.unit == "hour" else timedelta(days=self.value)


class TraitFilter(_Node):
    kind: Literal["trait"] = "trait"
    path: str
    op: TraitOp
    value: Scalar | None = None


class EventFilter(_Node):
    kind: Literal["event"] = "event"
    eventName: str
    did: bool
    window: Window | None = None


class SuppressionFilter(_Node):
    kind: Literal["suppression"] = "suppression"
    includesSuppressed: bool


class ListFilter(_Node):
    """Is (``member: true``) or is not a member of the static list ``listId``."""

    kind: Literal["list"] = "list"
    listId: uuid.UUID
    member: bool


class TopicFilter(_Node):
    """Is (``subscribed: true``) or is not subscribed to ``topicId``: an
    explicit choice wins, else the topic's default (``opt_in`` subscribed,
    ``opt_out`` not)."""

    kind: Literal["topic"] = "topic"
    topicId: uuid.UUID
    subscribed: bool


class GroupFilter(_Node):
    kind: Literal["group"] = "group"
    op: Literal["and", "or"]
    children: list[FilterSpec]


FilterSpec = Annotated[
    GroupFilter | TraitFilter | EventFilter | SuppressionFilter | ListFilter | TopicFilter,
    Field(discriminator="kind"),
]
GroupFilter.model_rebuild()
_ADAPTER: TypeAdapter[Any] = TypeAdapter(FilterSpec)


def filter_json_schema() -> dict[str, Any]:
    """The JSON Schema of FilterSpec, for OpenAPI."""
    schema: dict[str, Any] = _ADAPTER.json_schema(ref_template="#/$defs/{model}")
    return schema


def parse_filter(data: Any, where: str = "filter") -> Any:
    """Validate raw JSON into a FilterSpec or raise ``Invalid`` naming the failing path."""
    counter = [0]
    return _node(data, where, 1, counter)


def _fail(where: str, message: str) -> Invalid:
    return Invalid(f"{where}: {message}")


def _fields(data: Any, where: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail(where, "must be an object")
    for key in data:
        if key not in allowed:
            raise _fail(f"{where}.{key}", "unknown field")
    for key in sorted(required):
        if key not in data:
            raise _fail(f"{where}.{key}", "field required")
    return data


def _node(data: Any, where: str, depth: int, counter: list[int]) -> Any:
    if depth > MAX_DEPTH:
        raise _fail(where, f"nested deeper than {MAX_DEPTH} levels")
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise _fail(where, f"a filter has at most {MAX_NODES} nodes")
    if not isinstance(data, dict):
        raise _fail(where, "must be an object")
    kind = data.get("kind")
    if kind == "group":
        return _group(data, where, depth, counter)
    if kind == "trait":
        return _trait(data, where)
    if kind == "event":
        return _event(data, where)
    if kind == "suppression":
        d = _fields(data, where, {"kind", "includesSuppressed"}, {"includesSuppressed"})
        if not isinstance(d["includesSuppressed"], bool):
            raise _fail(f"{where}.includesSuppressed", "must be true or false")
        return SuppressionFilter(includesSuppressed=d["includesSuppressed"])
    if kind == "list":
        d = _fields(data, where, {"kind", "listId", "member"}, {"listId", "member"})
        return ListFilter(listId=_id(d["listId"], f"{where}.listId", "list"),
                          member=_flag(d["member"], f"{where}.member"))
    if kind == "topic":
        d = _fields(data, where, {"kind", "topicId", "subscribed"}, {"topicId", "subscribed"})
        return TopicFilter(topicId=_id(d["topicId"], f"{where}.topicId", "topic"),
                           subscribed=_flag(d["subscribed"], f"{where}.subscribed"))
    if kind is None:
        raise _fail(f"{where}.kind", "field required")
    raise _fail(f"{where}.kind", f"unknown kind {_show(kind)} "
                "(expected group, trait, event, suppression, list or topic)")


def _id(value: Any, where: str, what: str) -> uuid.UUID:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise _fail(where, f"must be a {what} id (uuid)")


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, "must be true or false")
    return value


def references(spec: Any, where: str = "filter") -> Iterator[tuple[str, str, uuid.UUID]]:
    """``(path, "list" | "topic", id)`` for every list and topic a parsed
    filter names, so a service can check they exist in the project."""
    if isinstance(spec, GroupFilter):
        for i, child in enumerate(spec.children):
            yield from references(child, f"{where}.children[{i}]")
    elif isinstance(spec, ListFilter):
        yield f"{where}.listId", "list", spec.listId
    elif isinstance(spec, TopicFilter):
        yield f"{where}.topicId", "topic", spec.topicId


def _group(data: dict[str, Any], where: str, depth: int, counter: list[int]) -> GroupFilter:
    d = _fields(data, where, {"kind", "op", "children"}, {"op", "children"})
    if d["op"] not in ("and", "or"):
        raise _fail(f"{where}.op", f"unknown group operator {_show(d['op'])} (expected and, or)")
    if not isinstance(d["children"], list):
        raise _fail(f"{where}.children", "must be an array")
    children = [_node(child, f"{where}.children[{i}]", depth + 1, counter)
                for i, child in enumerate(d["children"])]
    return GroupFilter(op=d["op"], children=children)


def _trait(data: dict[str, Any], where: str) -> TraitFilter:
    d = _fields(data, where, {"kind", "path", "op", "value"}, {"path", "op"})
    path, op = d["path"], d["op"]
    _check_path(path, f"{where}.path")
    if op not in OPERATORS:
        raise _fail(f"{where}.op", f"unknown operator {_show(op)}")
    if op in ("exists", "not_exists"):
        if "value" in d:
            raise _fail(f"{where}.value", f"{op} takes no value")
        return TraitFilter(path=path, op=op)
    if "value" not in d:
        raise _fail(f"{where}.value", f"{op} needs a value")
    value = d["value"]
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(f"{where}.value", "must be a finite number")
    if not isinstance(value, str | bool | int | float):
        raise _fail(f"{where}.value", "must be a string, number or boolean")
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        raise _fail(f"{where}.value", f"at most {MAX_VALUE_CHARS} characters")
    return TraitFilter(path=path, op=op, value=value)


def _check_path(path: Any, where: str) -> None:
    if not isinstance(path, str) or not path:
        raise _fail(where, "must be a non-empty string")
    if len(path) > MAX_PATH_CHARS:
        raise _fail(where, f"at most {MAX_PATH_CHARS} characters")
    if '"' in path or "\\" in path:
        raise _fail(where, 'may not contain " or \\')
    parts = path.split(".")
    if any(not p for p in parts):
        raise _fail(where, f"{_show(path)} has an empty segment")
    if parts[0] == "account" and len(parts) == 1:
        raise _fail(where, "account needs a trait path, e.g. account.plan")


def _event(data: dict[str, Any], where: str) -> EventFilter:
    d = _fields(data, where, {"kind", "eventName", "did", "window"}, {"eventName", "did"})
    name = d["eventName"]
    if not isinstance(name, str) or not name or len(name) > 255:
        raise _fail(f"{where}.eventName", "must be a string of 1-255 characters")
    if not isinstance(d["did"], bool):
        raise _fail(f"{where}.did", "must be true or false")
    window = None
    if d.get("window") is not None:
        w = _fields(d["window"], f"{where}.window", {"value", "unit"}, {"value", "unit"})
        if w["unit"] not in MAX_WINDOW:
            raise _fail(f"{where}.window.unit", f"unknown unit {_show(w['unit'])} "
                        "(expected hour, day)")
        value = w["value"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _fail(f"{where}.window.value", "must be a positive integer")
        if value > MAX_WINDOW[w["unit"]]:
            raise _fail(f"{where}.window.value", f"at most {MAX_WINDOW[w['unit']]} {w['unit']}s")
        window = Window(value=value, unit=w["unit"])
    return EventFilter(eventName=name, did=d["did"], window=window)


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)
