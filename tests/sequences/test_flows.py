"""The trigger lookup keyed by ``eq`` conditions never misses a flow whose
``where`` holds (property-tested against testing every flow)."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from letter.sequences.flows import EventTriggers, compile_flow, where_matches

GRAPH = {"nodes": [{"id": "t", "type": "trigger", "config": {"type": "trigger"}}], "edges": []}
values = st.one_of(st.sampled_from(["pro", "free", "5", "5.0", "true"]), st.integers(0, 6),
                   st.booleans(), st.none())
conditions = st.lists(st.fixed_dictionaries({
    "property": st.sampled_from(["plan", "n", "a.b"]),
    "op": st.sampled_from(["eq", "neq", "gte", "contains", "exists"]),
    "value": st.one_of(st.sampled_from(["pro", "free", "5", "true"]), st.integers(0, 6)),
}), max_size=3)


def _clean(condition: dict) -> dict:
    if condition["op"] == "exists":
        return {"property": condition["property"], "op": "exists"}
    return condition


@settings(max_examples=300, deadline=None)
@given(st.lists(conditions, min_size=1, max_size=8),
       st.fixed_dictionaries({"plan": values, "n": values, "a": st.fixed_dictionaries(
           {"b": values})}))
def test_candidates_hold_every_matching_flow(wheres, properties):
    flows = [compile_flow(uuid.uuid4(), uuid.uuid4(), {
        "type": "event", "eventName": "E", "where": [_clean(c) for c in where]}, GRAPH)
        for where in wheres]
    index = EventTriggers()
    for flow in flows:
        index.add(flow)
    matching = {f.version_id for f in flows if where_matches(f.where, properties)}
    candidates = index.candidates(properties)
    assert matching <= {f.version_id for f in candidates}
    assert len(candidates) == len({f.version_id for f in candidates})  # each flow once


def test_an_event_tests_only_the_flows_keyed_by_its_value():
    flows = [compile_flow(uuid.uuid4(), uuid.uuid4(), {
        "type": "event", "eventName": "E",
        "where": [{"property": "plan", "op": "eq", "value": f"p{k}"}]}, GRAPH) for k in range(20)]
    index = EventTriggers()
    for flow in flows:
        index.add(flow)
    assert index.candidates({"plan": "p3"}) == [flows[3]]
    assert index.candidates({"plan": "other"}) == []
