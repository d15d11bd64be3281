"""The segment builder's form <-> FilterSpec round trip and edits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from letter.segments.filter import OPERATORS, parse_filter
from letter.web.filterform import apply_edit, from_form, from_spec, node_of_error, to_spec

TEXT = st.text(alphabet="abcxyz01 ", min_size=1, max_size=8).filter(lambda s: s.strip() == s)


def _leaf():
    trait = st.builds(
        lambda p, op, v: {"kind": "trait", "path": p, "op": op}
        | ({} if op in ("exists", "not_exists") else {"value": v}),
        st.sampled_from(["plan", "account.plan", "email", "a.b"]), st.sampled_from(OPERATORS),
        TEXT)
    event = st.builds(
        lambda n, did, w: {"kind": "event", "eventName": n, "did": did}
        | ({} if w is None else {"window": {"value": w[0], "unit": w[1]}}),
        TEXT, st.booleans(),
        st.none() | st.tuples(st.integers(1, 500), st.sampled_from(["hour", "day"])))
    suppression = st.builds(lambda b: {"kind": "suppression", "includesSuppressed": b},
                            st.booleans())
    in_list = st.builds(lambda i, b: {"kind": "list", "listId": str(i), "member": b},
                        st.uuids(), st.booleans())
    topic = st.builds(lambda i, b: {"kind": "topic", "topicId": str(i), "subscribed": b},
                      st.uuids(), st.booleans())
    return trait | event | suppression | in_list | topic


SPECS = st.recursive(
    _leaf(),
    lambda inner: st.builds(lambda op, kids: {"kind": "group", "op": op, "children": kids},
                            st.sampled_from(["and", "or"]), st.lists(inner, max_size=3)),
    max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(SPECS)
def test_every_filterspec_survives_the_form(spec):
    rebuilt = to_spec(from_spec(spec).fields())
    expected = spec if spec["kind"] == "group" else {"kind": "group", "op": "and",
                                                      "children": [spec]}
    assert rebuilt == expected
    parse_filter(rebuilt)


def test_edits_add_and_remove_and_renumber():
    tree = from_form({})
    for edit in ("add-trait:r", "add-group:r", "add-event:r.1", "add-suppression:r",
                 "add-list:r", "add-topic:r.1"):
        tree = apply_edit(tree, edit)
    assert [c.kind for c in tree.children] == ["trait", "group", "suppression", "list"]
    assert tree.children[3].values == {"member": "true"}
    assert tree.children[1].children[1].values == {"subscribed": "true"}
    tree = apply_edit(tree, "remove:r.3")
    tree = apply_edit(tree, "remove:r.1.1")
    assert tree.children[1].children[0].path == "r.1.0"
    tree = apply_edit(tree, "remove:r.0")
    assert [c.path for c in tree.children] == ["r.0", "r.1"]
    assert tree.children[0].children[0].path == "r.0.0"
    assert apply_edit(tree, "remove:r") is tree and len(tree.children) == 2
    assert apply_edit(tree, "add-trait:r.9").fields() == tree.fields()
    # A form that skipped an index (a removed row) reads in order.
    flat = {"r.kind": "group", "r.op": "or", "r.0.kind": "trait", "r.0.path": "a",
            "r.0.op": "exists", "r.5.kind": "suppression", "r.5.includes": "true"}
    assert to_spec(flat) == {"kind": "group", "op": "or", "children": [
        {"kind": "trait", "path": "a", "op": "exists"},
        {"kind": "suppression", "includesSuppressed": True}]}


def test_errors_point_at_their_condition():
    assert node_of_error("filter.children[1].children[0].value: eq needs a value") == "r.1.0"
    assert node_of_error("filter.op: unknown group operator") == "r"
    assert node_of_error("name: must not be empty") is None
