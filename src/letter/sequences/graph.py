"""The flow editor's graph and the sequence trigger: strict shape checks for
the draft (``parse_graph``, ``parse_trigger`` raise ``Invalid`` naming the
failing path) and the checks publish runs (``publish_errors``).

>>> graph = parse_graph({"nodes": [
...     {"id": "t", "type": "trigger", "position": {"x": 0, "y": 0}, "config": {"type": "trigger"}},
...     {"id": "w", "type": "wait", "position": {"x": 0, "y": 0},
...      "config": {"type": "wait", "duration": {"value": 2, "unit": "days"}}}],
...     "edges": [{"id": "e1", "source": "t", "target": "w"}]})
>>> graph.next_of("t")
'w'
>>> parse_graph({"nodes": [{"id": "w", "type": "wait", "config": {"type": "email"}}], "edges": []})
Traceback (most recent call last):
letter.errors.Invalid: graph.nodes[0].config.type: must be "wait", the node's type
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from letter.errors import Invalid
from letter.segments.filter import OPERATORS, parse_filter

__all__ = [
    "LEGS",
    "NODE_TYPES",
    "Graph",
    "Node",
    "duration_of",
    "parse_graph",
    "parse_trigger",
    "parse_where",
]

NODE_TYPES = ("trigger", "email", "wait", "wait_event", "branch", "exit")
LEGS = {"branch": ("yes", "no"), "wait_event": ("received", "timeout")}
UNITS = {"minutes": 60, "hours": 3600, "days": 86400}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_NODES = 500
_CONFIG_KEYS: dict[str, set[str]] = {
    "trigger": {"type"},
    "email": {"type", "subject", "preview", "bodyDoc", "templateId", "sendWindow"},
    "wait": {"type", "duration"},
    "wait_event": {"type", "eventName", "timeout", "match"},
    "branch": {"type", "condition"},
    "exit": {"type"},
}


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    config: dict[str, Any]


@dataclass
class Graph:
    """Nodes by id and each node's outgoing edges by leg (``None`` for a
    one-leg node)."""

    nodes: dict[str, Node] = field(default_factory=dict)
    out: dict[str, dict[str | None, str]] = field(default_factory=dict)

    def next_of(self, node_id: str, leg: str | None = None) -> str | None:
        return self.out.get(node_id, {}).get(leg)

    def triggers(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.type == "trigger"]


def _fail(where: str, message: str) -> Invalid:
    return Invalid(f"{where}: {message}")


def _object(data: Any, where: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail(where, "must be an object")
    for key in data:
        if key not in allowed:
            raise _fail(f"{where}.{key}", "unknown field")
    for key in sorted(required):
        if key not in data:
            raise _fail(f"{where}.{key}", "field required")
    return data


def _text(value: Any, where: str, *, limit: int = 255, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value) or len(value) > limit:
        raise _fail(where, f"must be a string of {0 if empty else 1}-{limit} characters")
    return value


def _duration(data: Any, where: str) -> None:
    d = _object(data, where, {"value", "unit"}, {"value", "unit"})
    if isinstance(d["value"], bool) or not isinstance(d["value"], int):
        raise _fail(f"{where}.value", "must be an integer")
    if d["unit"] not in UNITS:
        raise _fail(f"{where}.unit", f"unknown unit {d['unit']!r} (expected minutes, hours, days)")


def duration_of(data: dict[str, Any]) -> timedelta:
    """``{"value": 2, "unit": "days"}`` as a timedelta."""
    return timedelta(seconds=data["value"] * UNITS[data["unit"]])


def _clock(value: Any, where: str) -> None:
    ok = isinstance(value, str) and len(value) == 5 and value[2] == ":"
    if ok:
        hours, minutes = value[:2], value[3:]
        ok = hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60
    if not ok:
        raise _fail(where, 'must be a time "HH:MM"')


def _send_window(data: Any, where: str) -> None:
    d = _object(data, where, {"days", "start", "end"}, {"start", "end"})
    days = d.get("days", list(DAYS))
    if not isinstance(days, list) or not days or any(day not in DAYS for day in days):
        raise _fail(f"{where}.days", "must be a non-empty array of mon, tue, … sun")
    _clock(d["start"], f"{where}.start")
    _clock(d["end"], f"{where}.end")
    if d["start"] == d["end"]:
        raise _fail(f"{where}.end", "must differ from start")


def _config(kind: str, data: Any, where: str) -> dict[str, Any]:
    d = _object(data, where, _CONFIG_KEYS[kind], {"type"})
    if d["type"] != kind:
        raise _fail(f"{where}.type", f'must be "{kind}", the node\'s type')
    if kind == "email":
        for key in ("subject", "preview"):
            if d.get(key) is not None:
                _text(d[key], f"{where}.{key}", limit=1000, empty=True)
        if d.get("bodyDoc") is not None and not isinstance(d["bodyDoc"], dict):
            raise _fail(f"{where}.bodyDoc", "must be a TipTap document (an object)")
        if d.get("templateId") is not None:
            _text(d["templateId"], f"{where}.templateId", limit=64)
        if d.get("sendWindow") is not None:
            _send_window(d["sendWindow"], f"{where}.sendWindow")
    elif kind == "wait":
        if "duration" not in d:
            raise _fail(f"{where}.duration", "field required")
        _duration(d["duration"], f"{where}.duration")
    elif kind == "wait_event":
        for key in ("eventName", "timeout"):
            if key not in d:
                raise _fail(f"{where}.{key}", "field required")
        _text(d["eventName"], f"{where}.eventName")
        _duration(d["timeout"], f"{where}.timeout")
        if d.get("match") is not None:
            m = _object(d["match"], f"{where}.match", {"property"}, {"property"})
            _text(m["property"], f"{where}.match.property")
    elif kind == "branch" and d.get("condition") is not None \
            and not isinstance(d["condition"], dict):
        raise _fail(f"{where}.condition", "must be a FilterSpec (an object)")
    return dict(d)


def _position(data: Any, where: str) -> None:
    d = _object(data, where, {"x", "y"}, {"x", "y"})
    for key in ("x", "y"):
        if isinstance(d[key], bool) or not isinstance(d[key], int | float):
            raise _fail(f"{where}.{key}", "must be a number")


def parse_graph(data: Any, where: str = "graph") -> Graph:
    """Validate the draft graph's shapes; returns the graph for the engine."""
    d = _object(data, where, {"nodes", "edges"}, {"nodes", "edges"})
    if not isinstance(d["nodes"], list):
        raise _fail(f"{where}.nodes", "must be an array")
    if not isinstance(d["edges"], list):
        raise _fail(f"{where}.edges", "must be an array")
    if len(d["nodes"]) > MAX_NODES:
        raise _fail(f"{where}.nodes", f"at most {MAX_NODES} nodes")
    graph = Graph()
    for i, raw in enumerate(d["nodes"]):
        at = f"{where}.nodes[{i}]"
        n = _object(raw, at, {"id", "type", "position", "config"}, {"id", "type", "config"})
        node_id = _text(n["id"], f"{at}.id", limit=100)
        if n["type"] not in NODE_TYPES:
            raise _fail(f"{at}.type", f"unknown node type {n['type']!r} "
                        f"(expected {', '.join(NODE_TYPES)})")
        if node_id in graph.nodes:
            raise _fail(f"{at}.id", f"duplicate node id {node_id!r}")
        if n.get("position") is not None:
            _position(n["position"], f"{at}.position")
        graph.nodes[node_id] = Node(node_id, n["type"], _config(n["type"], n["config"],
                                                                f"{at}.config"))
    edge_ids: set[str] = set()
    for i, raw in enumerate(d["edges"]):
        _edge(graph, raw, f"{where}.edges[{i}]", edge_ids)
    return graph


def _edge(graph: Graph, raw: Any, at: str, seen: set[str]) -> None:
    e = _object(raw, at, {"id", "source", "target", "branch"}, {"id", "source", "target"})
    edge_id = _text(e["id"], f"{at}.id", limit=100)
    if edge_id in seen:
        raise _fail(f"{at}.id", f"duplicate edge id {edge_id!r}")
    seen.add(edge_id)
    for key in ("source", "target"):
        if not isinstance(e[key], str) or e[key] not in graph.nodes:
            raise _fail(f"{at}.{key}", f"no node {e[key]!r} in the graph")
    source = graph.nodes[e["source"]]
    legs = LEGS.get(source.type)
    leg = e.get("branch")
    if legs is None and leg is not None:
        raise _fail(f"{at}.branch", f"only edges leaving a branch or wait_event node take a "
                    f"branch; {source.id!r} is a {source.type} node")
    if legs is not None and leg not in legs:
        raise _fail(f"{at}.branch", f"must be {' or '.join(legs)} on an edge leaving "
                    f"{source.type} node {source.id!r}")
    if source.type == "exit":
        raise _fail(f"{at}.source", "an exit node has no outgoing edge")
    if e["target"] == e["source"]:
        raise _fail(f"{at}.target", "an edge may not loop back to its source")
    out = graph.out.setdefault(source.id, {})
    if leg in out:
        what = f"leg {leg!r}" if leg else "edge"
        raise _fail(at, f"node {source.id!r} already has an outgoing {what}")
    out[leg] = e["target"]


def parse_where(data: Any, where: str) -> list[dict[str, Any]]:
    """Event-property conditions: one object or an array of them (AND-ed)."""
    items = data if isinstance(data, list) else [data]
    conditions = []
    for i, raw in enumerate(items):
        at = f"{where}[{i}]" if isinstance(data, list) else where
        c = _object(raw, at, {"property", "op", "value"}, {"property", "op"})
        _text(c["property"], f"{at}.property")
        if c["op"] not in OPERATORS:
            raise _fail(f"{at}.op", f"unknown operator {c['op']!r}")
        has_value = c["op"] not in ("exists", "not_exists")
        if has_value and not isinstance(c.get("value"), str | int | float | bool):
            raise _fail(f"{at}.value", f"{c['op']} needs a string, number or boolean value")
        if not has_value and "value" in c:
            raise _fail(f"{at}.value", f"{c['op']} takes no value")
        conditions.append(dict(c))
    return conditions


def parse_trigger(data: Any, where: str = "trigger") -> dict[str, Any]:
    """Validate a SequenceTrigger's shape (its ``filter`` is checked at publish)."""
    if not isinstance(data, dict):
        raise _fail(where, "must be an object")
    kind = data.get("type")
    if kind == "event":
        d = _object(data, where, {"type", "eventName", "oncePerContact", "where", "filter",
                                  "exitOn"}, {"eventName"})
        _text(d["eventName"], f"{where}.eventName")
        if not isinstance(d.get("oncePerContact", False), bool):
            raise _fail(f"{where}.oncePerContact", "must be true or false")
        if d.get("where") is not None:
            parse_where(d["where"], f"{where}.where")
    elif kind == "contact_created":
        d = _object(data, where, {"type", "filter", "exitOn"}, set())
    else:
        raise _fail(f"{where}.type", f"unknown trigger type {kind!r} "
                    "(expected event, contact_created)")
    if d.get("filter") is not None and not isinstance(d["filter"], dict):
        raise _fail(f"{where}.filter", "must be a FilterSpec (an object)")
    if d.get("exitOn") is not None:
        x = _object(d["exitOn"], f"{where}.exitOn", {"eventName", "where"}, {"eventName"})
        _text(x["eventName"], f"{where}.exitOn.eventName")
        if x.get("where") is not None:
            parse_where(x["where"], f"{where}.exitOn.where")
    return dict(d)


def check_filter(data: Any, where: str) -> str | None:
    """The FilterSpec error at ``where``, or None when it is valid."""
    try:
        parse_filter(data, where)
    except Invalid as exc:
        return exc.message
    return None
