"""Fixtures for the Ingestion API: a project key and helpers to call with it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def ingest_key(client: TestClient, owner: Any, project: dict[str, Any]) -> str:
    response = client.post(f"/v1/projects/{project['slug']}/keys", json={"name": "server"},
                           headers=owner.headers)
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


@pytest.fixture
def ingest_headers(ingest_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ingest_key}"}
