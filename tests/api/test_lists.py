"""Every list takes ?limit=1..100 and ?cursor= and answers {data, next_cursor}:
templates, segments, domains and traits like the rest."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import assert_error

BASE = "/v1/projects/acme"


def _walk(client, path: str, headers: dict[str, str], limit: int = 2) -> list[list[Any]]:
    pages: list[list[Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"data", "next_cursor"}
        pages.append(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def _make(client, owner, kind: str) -> None:
    for i in range(4):
        if kind == "templates":
            made = client.post(f"{BASE}/templates", json={"name": f"T{i}"}, headers=owner.headers)
        elif kind == "segments":
            made = client.post(
                f"{BASE}/segments",
                json={
                    "name": f"S{i}",
                    "filter": {"kind": "trait", "path": "plan", "op": "eq", "value": f"p{i}"},
                },
                headers=owner.headers,
            )
        else:
            made = client.post(
                f"{BASE}/domains", json={"domain": f"mail{i}.acme.test"}, headers=owner.headers
            )
        assert made.status_code == 201, made.text


@pytest.mark.parametrize("kind", ["templates", "segments", "domains"])
def test_resource_lists_paginate(client, owner, project, kind):
    _make(client, owner, kind)
    pages = _walk(client, f"{BASE}/{kind}", owner.headers)
    total = 5 if kind == "templates" else 4  # the project's default template too
    assert [len(p) for p in pages] == ([2, 2, 1] if total == 5 else [2, 2])
    ids = [row["id"] for page in pages for row in page]
    assert len(set(ids)) == total
    everything = client.get(f"{BASE}/{kind}", headers=owner.headers).json()
    assert [r["id"] for r in everything["data"]] == ids and everything["next_cursor"] is None
    for bad in ({"limit": 0}, {"limit": 101}, {"cursor": "nope"}):
        assert_error(
            client.get(f"{BASE}/{kind}", params=bad, headers=owner.headers), 400, "bad_request"
        )


def test_traits_paginate(client, owner, project):
    key = client.post(f"{BASE}/keys", json={"name": "k"}, headers=owner.headers).json()["key"]
    ingest = {"Authorization": f"Bearer {key}"}
    batch = [
        {"type": "identify", "user_id": f"u{i}", "traits": {f"t{j}": j for j in range(i + 1)}}
        for i in range(5)
    ] + [{"type": "group", "user_id": "u0", "account_id": "a1", "traits": {"seats": 3}}]
    assert client.post("/v1/batch", json={"batch": batch}, headers=ingest).json()["accepted"] == 6
    everything = client.get(f"{BASE}/traits", headers=owner.headers).json()
    assert everything["next_cursor"] is None
    expected = [(t["scope"], t["key"]) for t in everything["data"]]
    assert expected == [("contact", f"t{j}") for j in range(5)] + [("account", "seats")]
    pages = _walk(client, f"{BASE}/traits", owner.headers)
    assert [len(p) for p in pages] == [2, 2, 2]
    assert [(t["scope"], t["key"]) for page in pages for t in page] == expected
    for bad in ({"limit": 0}, {"cursor": "nope"}, {"cursor": "WyJrIiwgMV0"}):
        assert_error(
            client.get(f"{BASE}/traits", params=bad, headers=owner.headers), 400, "bad_request"
        )


def test_every_list_operation_takes_limit_and_cursor_and_returns_next_cursor(client):
    spec = client.get("/v1/openapi.json").json()
    schemas = spec["components"]["schemas"]
    lists = []
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        content = get["responses"].get("200", {}).get("content", {})
        ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        schema = schemas.get(ref.rsplit("/", 1)[-1], {})
        if schema.get("properties", {}).get("data", {}).get("type") == "array":
            lists.append(path)
            assert set(schema["properties"]) == {"data", "next_cursor"}, path
            params = {p["name"] for p in get.get("parameters", [])}
            assert {"limit", "cursor"} <= params, path
    assert {"/v1/projects/{slug}/templates", "/v1/projects/{slug}/traits"} <= set(lists)
    assert len(lists) >= 14
