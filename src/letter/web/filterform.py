"""The segment builder's form <-> FilterSpec JSON, and its edit actions.

A node lives at a path: ``r`` is the root group, ``r.0`` its first child,
``r.0.2`` that group's third child. Each node's fields are form fields named
``<path>.<field>``. The JSON built here is checked by the same
``parse_filter`` the API uses; its error names a place such as
``filter.children[0].value``, which ``node_of_error`` turns back into ``r.0``
so the message shows next to that condition.

>>> tree = from_spec({"kind": "trait", "path": "plan", "op": "eq", "value": "pro"})
>>> to_spec(tree.fields())["children"][0]["value"]
'pro'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from letter.segments.filter import OPERATORS

__all__ = ["KINDS", "Node", "apply_edit", "from_form", "from_spec", "node_of_error", "to_spec"]

KINDS = ("trait", "event", "suppression", "list", "topic", "group")
VALUELESS = ("exists", "not_exists")
# What a new condition of each kind starts with.
NEW_VALUES: dict[str, dict[str, str]] = {
    "group": {"op": "and"}, "trait": {"op": "eq"}, "event": {"did": "did", "wunit": "day"},
    "suppression": {"includes": "false"}, "list": {"member": "true"},
    "topic": {"subscribed": "true"}}
ROOT = "r"
_INDEX = re.compile(r"\.children\[(\d+)\]")


@dataclass
class Node:
    path: str
    kind: str = "trait"
    values: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def renumber(self, path: str) -> None:
        self.path = path
        for i, child in enumerate(self.children):
            child.renumber(f"{path}.{i}")

    def fields(self) -> dict[str, str]:
        out = {f"{self.path}.kind": self.kind}
        out.update({f"{self.path}.{k}": v for k, v in self.values.items()})
        for child in self.children:
            out.update(child.fields())
        return out

    def find(self, path: str) -> Node | None:
        if self.path == path:
            return self
        return next((hit for c in self.children if (hit := c.find(path)) is not None), None)


def empty() -> Node:
    return Node(ROOT, "group", {"op": "and"})


def from_form(form: Mapping[str, Any]) -> Node:
    """The tree the builder's fields describe (an empty ``and`` group if none)."""
    flat = {k: str(v) for k, v in form.items() if k == ROOT or k.startswith(ROOT + ".")}
    if f"{ROOT}.kind" not in flat:
        return empty()
    return _read(flat, ROOT)


def _read(flat: dict[str, str], path: str) -> Node:
    kind = flat.get(f"{path}.kind", "trait")
    prefix = path + "."
    values = {k[len(prefix):]: v for k, v in flat.items()
              if k.startswith(prefix) and "." not in k[len(prefix):] and k != f"{path}.kind"}
    node = Node(path, kind if kind in KINDS else "trait", values)
    if node.kind == "group":
        indices = sorted({int(k[len(prefix):].split(".")[0]) for k in flat
                          if k.startswith(prefix) and k[len(prefix):].split(".")[0].isdigit()})
        node.children = [_read(flat, f"{path}.{i}") for i in indices]
        node.renumber(path)
    return node


def to_spec(flat: Mapping[str, str]) -> dict[str, Any]:
    return _spec(from_form(flat))


def _spec(node: Node) -> dict[str, Any]:
    v = node.values
    if node.kind == "group":
        return {"kind": "group", "op": v.get("op", "and"),
                "children": [_spec(c) for c in node.children]}
    if node.kind == "event":
        out: dict[str, Any] = {"kind": "event", "eventName": v.get("event", ""),
                               "did": v.get("did", "did") == "did"}
        if v.get("wvalue", "").strip():
            number = v["wvalue"].strip()
            out["window"] = {"value": int(number) if number.isdigit() else number,
                             "unit": v.get("wunit", "day")}
        return out
    if node.kind == "suppression":
        return {"kind": "suppression", "includesSuppressed": v.get("includes") == "true"}
    if node.kind == "list":
        return {"kind": "list", "listId": v.get("list", ""), "member": v.get("member") != "false"}
    if node.kind == "topic":
        return {"kind": "topic", "topicId": v.get("topic", ""),
                "subscribed": v.get("subscribed") != "false"}
    trait: dict[str, Any] = {"kind": "trait", "path": v.get("path", ""), "op": v.get("op", "eq")}
    if trait["op"] not in VALUELESS:
        trait["value"] = v.get("value", "")
    return trait


def from_spec(raw: Any, path: str = ROOT) -> Node:
    """A stored FilterSpec as a builder tree (a lone condition gets a root group)."""
    if not isinstance(raw, dict):
        return empty()
    if path == ROOT and raw.get("kind") != "group":
        raw = {"kind": "group", "op": "and", "children": [raw]}
    kind = raw.get("kind")
    if kind == "group":
        node = Node(path, "group", {"op": str(raw.get("op", "and"))})
        node.children = [from_spec(c, f"{path}.{i}")
                         for i, c in enumerate(raw.get("children") or [])]
        return node
    if kind == "event":
        window = raw.get("window") or {}
        return Node(path, "event", {"event": str(raw.get("eventName", "")),
                                    "did": "did" if raw.get("did", True) else "did_not",
                                    "wvalue": str(window.get("value", "")),
                                    "wunit": str(window.get("unit", "day"))})
    if kind == "suppression":
        return Node(path, "suppression",
                    {"includes": "true" if raw.get("includesSuppressed") else "false"})
    if kind == "list":
        return Node(path, "list", {"list": str(raw.get("listId", "")),
                                   "member": "false" if raw.get("member") is False else "true"})
    if kind == "topic":
        return Node(path, "topic", {"topic": str(raw.get("topicId", "")), "subscribed":
                                    "false" if raw.get("subscribed") is False else "true"})
    value = raw.get("value")
    return Node(path, "trait", {"path": str(raw.get("path", "")), "op": str(raw.get("op", "eq")),
                                "value": "" if value is None else str(value).lower()
                                if isinstance(value, bool) else str(value)})


def apply_edit(root: Node, edit: str) -> Node:
    """``add-<kind>:<group path>`` or ``remove:<node path>``; unknown edits do nothing."""
    action, _, path = edit.partition(":")
    target = root.find(path)
    if target is None:
        return root
    if action.startswith("add-") and target.kind == "group":
        kind = action[4:]
        if kind in KINDS:
            target.children.append(Node(f"{path}.{len(target.children)}", kind,
                                        dict(NEW_VALUES[kind])))
    elif action == "remove" and path != ROOT:
        parent = root.find(path.rsplit(".", 1)[0])
        if parent is not None:
            parent.children = [c for c in parent.children if c.path != path]
            parent.renumber(parent.path)
    return root


def node_of_error(message: str) -> str | None:
    """``filter.children[1].children[0].op: …`` -> ``r.1.0``; None if the
    message names no place in the filter."""
    if not message.startswith("filter"):
        return None
    where = message.split(":", 1)[0]
    return ROOT + "".join(f".{i}" for i in _INDEX.findall(where))


OPERATOR_LABELS = {"eq": "equals", "neq": "does not equal", "contains": "contains",
                   "not_contains": "does not contain", "gt": "is greater than",
                   "gte": "is at least", "lt": "is less than", "lte": "is at most",
                   "exists": "exists", "not_exists": "does not exist"}
assert set(OPERATOR_LABELS) == set(OPERATORS)
