"""The checks publish runs on a draft (and ``GET …/validate`` runs alone):
exactly one trigger node; every node reachable from it; no cycles; both legs
of each two-leg node; email subject and body; referenced templates exist;
branch conditions and trigger filters are FilterSpecs; waits are positive.

>>> publish_errors({"nodes": [], "edges": []}, None, lambda _id: True)
[{'nodeId': None, 'message': 'The sequence has no trigger.'}, {'nodeId': None, \
'message': 'The graph needs exactly one trigger node (it has 0).'}]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from letter.errors import Invalid
from letter.sequences.graph import LEGS, Graph, check_filter, parse_graph, parse_trigger
from letter.templates.bodydoc import has_content, render_body

__all__ = ["publish_errors"]

Error = dict[str, Any]


def publish_errors(
    raw_graph: Any, raw_trigger: Any, template_exists: Callable[[str], bool]
) -> list[Error]:
    """Every reason the draft cannot ship, as ``{nodeId, message}`` (empty: ok)."""
    errors: list[Error] = []
    try:
        graph = parse_graph(raw_graph)
    except Invalid as exc:  # a draft saved before a rule tightened
        return [{"nodeId": None, "message": exc.message}]
    triggers = graph.triggers()
    trigger_id = triggers[0].id if len(triggers) == 1 else None
    errors += _trigger_errors(raw_trigger, trigger_id)
    if len(triggers) != 1:
        errors.append({"nodeId": None, "message": "The graph needs exactly one trigger node "
                       f"(it has {len(triggers)})."})
    else:
        errors += _reach_errors(graph, trigger_id or "")
    for node in graph.nodes.values():
        errors += [{"nodeId": node.id, "message": m}
                   for m in _node_errors(graph, node.id, template_exists)]
    return errors


def _trigger_errors(raw: Any, node_id: str | None) -> list[Error]:
    if raw is None:
        return [{"nodeId": node_id, "message": "The sequence has no trigger."}]
    try:
        trigger = parse_trigger(raw)
    except Invalid as exc:
        return [{"nodeId": node_id, "message": exc.message}]
    if trigger.get("filter") is None:
        return []
    problem = check_filter(trigger["filter"], "trigger.filter")
    return [{"nodeId": node_id, "message": problem}] if problem else []


def _reach_errors(graph: Graph, start: str) -> list[Error]:
    errors: list[Error] = []
    seen: set[str] = set()
    on_path: set[str] = set()
    cyclic: set[str] = set()

    def visit(node_id: str) -> None:
        # Depth-first: meeting a node still on the current path closes a cycle.
        if node_id in on_path:
            cyclic.add(node_id)
            return
        if node_id in seen:
            return
        seen.add(node_id)
        on_path.add(node_id)
        for target in graph.out.get(node_id, {}).values():
            visit(target)
        on_path.discard(node_id)

    visit(start)
    for node_id in graph.nodes:
        if node_id not in seen:
            errors.append({"nodeId": node_id, "message": "Not reachable from the trigger."})
    for node_id in sorted(cyclic):
        errors.append({"nodeId": node_id, "message": "This node is part of a cycle."})
    for node in graph.nodes.values():
        if node.type == "trigger" and any(node.id in out.values() for out in graph.out.values()):
            errors.append({"nodeId": node.id, "message": "No edge may lead into the trigger."})
    return errors


def _node_errors(graph: Graph, node_id: str, template_exists: Callable[[str], bool]
                 ) -> list[str]:
    node = graph.nodes[node_id]
    config = node.config
    problems: list[str] = []
    for leg in LEGS.get(node.type, ()):
        if graph.next_of(node.id, leg) is None:
            problems.append(f'The "{leg}" leg has no edge.')
    if node.type == "email":
        problems += _email_errors(config, template_exists)
    elif node.type == "wait" and config["duration"]["value"] <= 0:
        problems.append("A wait must be positive.")
    elif node.type == "wait_event" and config["timeout"]["value"] <= 0:
        problems.append("A wait_event timeout must be positive.")
    elif node.type == "branch":
        if config.get("condition") is None:
            problems.append("A branch needs a condition.")
        else:
            problem = check_filter(config["condition"], "condition")
            if problem:
                problems.append(problem)
    return problems


def _email_errors(config: dict[str, Any], template_exists: Callable[[str], bool]) -> list[str]:
    problems = []
    if not (config.get("subject") or "").strip():
        problems.append("Email has no subject.")
    doc = config.get("bodyDoc")
    try:
        if doc is not None:
            render_body(doc)
    except Invalid as exc:
        problems.append(f"Email body is not a valid document: {exc.message}")
    else:
        if doc is None or not has_content(doc):
            problems.append("Email has no body content.")
    template_id = config.get("templateId")
    if template_id is not None and not template_exists(template_id):
        problems.append(f"Template {template_id} does not exist in this project.")
    return problems
