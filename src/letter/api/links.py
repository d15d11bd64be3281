"""OpenAPI links: what a client (or a stateful fuzzer) may call next with
what it just created. FastAPI does not write them, so they are derived from
the paths: a ``POST`` on a collection that answers 201 or 202 links to every
operation under ``collection/{param}``, the parameter taken from the created
resource (``id`` for ``*_id``, else the property of the same name) and the
collection's own parameters carried over from the request.

>>> document_links(app)   # doctest: +SKIP
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

__all__ = ["add_links", "document_links"]

_PARAM = re.compile(r"^\{([^}]+)\}$")
_CREATED = ("201", "202")
# Ingestion answers with a receipt, not the resource: the contact or account
# it wrote is named by the request (in the key's project).
_INGESTED = {
    "/v1/identify": ("userId", "/v1/projects/{slug}/contacts/{external_id}"),
    "/v1/track": ("userId", "/v1/projects/{slug}/contacts/{external_id}"),
    "/v1/group": ("groupId", "/v1/projects/{slug}/accounts/{external_id}"),
}


def _properties(schema: dict[str, Any], response: dict[str, Any]) -> set[str]:
    body = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = body.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        body = schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    return set(body.get("properties", {}))


def _source(param: str, properties: set[str]) -> str | None:
    if param in properties:
        return f"$response.body#/{param}"
    if param.endswith("_id") and "id" in properties:
        return "$response.body#/id"
    return None


def _link_name(operation_id: str) -> str:
    """``get_template_v1_projects__slug__…_get`` -> ``GetTemplate``."""
    return "".join(word.capitalize() for word in operation_id.split("_v1_")[0].split("_"))


def add_links(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the links to ``schema`` in place and return it."""
    paths: dict[str, dict[str, Any]] = schema.get("paths", {})
    for collection, operations in paths.items():
        create = operations.get("post")
        if create is None:
            continue
        code = next((c for c in _CREATED if c in create.get("responses", {})), None)
        if code is None:
            continue
        response = create["responses"][code]
        properties = _properties(schema, response)
        carried = re.findall(r"\{([^}]+)\}", collection)
        links: dict[str, Any] = {}
        for path, targets in paths.items():
            if not path.startswith(collection + "/"):
                continue
            item = _PARAM.match(path[len(collection) + 1 :].split("/")[0])
            source = _source(item.group(1), properties) if item else None
            if item is None or source is None:
                continue
            parameters = {name: f"$request.path.{name}" for name in carried}
            parameters[item.group(1)] = source
            for target in targets.values():
                links[_link_name(target["operationId"])] = {
                    "operationId": target["operationId"],
                    "parameters": parameters,
                }
        if links:
            response["links"] = links
    for ingest, (field, target) in _INGESTED.items():
        if ingest not in paths or target not in paths:
            continue
        response = paths[ingest]["post"]["responses"]["200"]
        response["links"] = {
            _link_name(operation["operationId"]): {
                "operationId": operation["operationId"],
                "parameters": {"external_id": f"$request.body#/{field}"},
            }
            for path, operations in paths.items() if path.startswith(target)
            for operation in operations.values()
        }
    return schema


def document_links(app: FastAPI) -> None:
    """Make ``app.openapi()`` carry the links (computed once, like the rest)."""
    generate = app.openapi
    done: list[bool] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        if not done:
            add_links(schema)
            done.append(True)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
