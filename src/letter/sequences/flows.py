"""A published version compiled once for the engine and the trigger index:
the graph, the start node, and every condition parsed. Versions are
immutable, so each process caches them by id forever (bounded LRU).

>>> flow = flow_for(session, version_id)      # doctest: +SKIP
>>> flow.graph.next_of(flow.start)            # doctest: +SKIP
'welcome'
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from letter.segments.evaluate import trait_predicate
from letter.segments.filter import TraitFilter, parse_filter
from letter.sequences.graph import Graph, parse_graph, parse_where
from letter.sequences.models import SequenceVersion
from letter.values import string_form

__all__ = [
    "EventTriggers",
    "ExitOn",
    "Flow",
    "compile_flow",
    "flow_for",
    "property_at",
    "remember",
    "same_value",
    "where_matches",
]

CACHE_SIZE = 2048


@dataclass(frozen=True)
class ExitOn:
    event_name: str
    where: list[TraitFilter]


@dataclass
class Flow:
    sequence_id: uuid.UUID
    version_id: uuid.UUID
    graph: Graph
    trigger: dict[str, Any]
    start: str
    where: list[TraitFilter] = field(default_factory=list)
    filter: Any = None
    exit_on: ExitOn | None = None
    conditions: dict[str, Any] = field(default_factory=dict)  # branch node id -> FilterSpec

    @property
    def once_per_contact(self) -> bool:
        return bool(self.trigger.get("oncePerContact"))


def _conditions(raw: Any, where: str) -> list[TraitFilter]:
    if raw is None:
        return []
    return [TraitFilter(path=c["property"], op=c["op"], value=c.get("value"))
            for c in parse_where(raw, where)]


def compile_flow(sequence_id: uuid.UUID, version_id: uuid.UUID, trigger: dict[str, Any],
                 graph_data: dict[str, Any]) -> Flow:
    graph = parse_graph(graph_data)
    start = graph.triggers()[0].id
    exit_raw = trigger.get("exitOn")
    exit_on = ExitOn(exit_raw["eventName"], _conditions(exit_raw.get("where"), "exitOn.where")) \
        if exit_raw else None
    return Flow(
        sequence_id, version_id, graph, trigger, start,
        where=_conditions(trigger.get("where"), "trigger.where"),
        filter=parse_filter(trigger["filter"], "trigger.filter") if trigger.get("filter") else None,
        exit_on=exit_on,
        conditions={n.id: parse_filter(n.config["condition"], "condition")
                    for n in graph.nodes.values() if n.type == "branch"},
    )


def property_at(properties: dict[str, Any], path: str) -> Any:
    """The value a dotted path addresses in the event's properties, or None."""
    value: Any = properties
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


_predicates: dict[TraitFilter, Callable[[Any], bool]] = {}


def _predicate(condition: TraitFilter) -> Callable[[Any], bool]:
    # Conditions are frozen models: one compiled predicate per distinct condition.
    found = _predicates.get(condition)
    if found is None:
        if len(_predicates) > 50_000:
            _predicates.clear()
        found = _predicates[condition] = trait_predicate(condition)
    return found


def where_matches(conditions: list[TraitFilter], properties: dict[str, Any]) -> bool:
    """All conditions hold on the event's properties (dotted paths reach in)."""
    return all(_predicate(c)(property_at(properties, c.path)) for c in conditions)


class EventTriggers:
    """The flows one event name triggers, keyed by their first ``eq``
    condition: an event only tests the flows whose key value it carries (one
    dict lookup for twenty sequences that differ by a property value) plus
    those without an ``eq`` condition.

    >>> found = EventTriggers()
    >>> found.candidates({"plan": "pro"})
    []
    """

    def __init__(self) -> None:
        self.keyed: dict[str, dict[str, list[Flow]]] = {}
        self.rest: list[Flow] = []

    def add(self, flow: Flow) -> None:
        key = next((c for c in flow.where if c.op == "eq"), None)
        if key is None:
            self.rest.append(flow)
            return
        text = string_form(key.value)
        assert text is not None  # eq values are scalars
        self.keyed.setdefault(key.path, {}).setdefault(text, []).append(flow)

    def candidates(self, properties: dict[str, Any]) -> list[Flow]:
        found = list(self.rest)
        for path, by_value in self.keyed.items():
            text = string_form(property_at(properties, path))
            if text is not None:
                found += by_value.get(text, ())
        return found


def same_value(a: Any, b: Any) -> bool:
    """``wait_event.match``: both present and equal in string form."""
    return a is not None and b is not None and string_form(a) == string_form(b)


_cache: OrderedDict[uuid.UUID, Flow] = OrderedDict()
_lock = threading.Lock()


def remember(flow: Flow) -> Flow:
    with _lock:
        _cache[flow.version_id] = flow
        _cache.move_to_end(flow.version_id)
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return flow


def flow_for(session: Session, version_id: uuid.UUID) -> Flow:
    with _lock:
        hit = _cache.get(version_id)
    if hit is not None:
        return hit
    row = session.execute(select(SequenceVersion.sequence_id, SequenceVersion.trigger,
                                 SequenceVersion.graph)
                          .where(SequenceVersion.id == version_id)).one()
    return remember(compile_flow(row.sequence_id, version_id, row.trigger, row.graph))
