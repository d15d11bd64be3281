"""Fixtures for lists and topics: a project with contacts ingested through the API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ingestion.conftest import ingest_headers, ingest_key

__all__ = ["ingest_headers", "ingest_key"]


def ingest(client: Any, headers: dict[str, str], *items: dict[str, Any]) -> None:
    response = client.post("/v1/batch", json={"batch": list(items)}, headers=headers)
    assert response.status_code == 200 and not response.json()["rejected"], response.text


def send_to_email(client: Any, owner: Any, slug: str, email: str) -> None:
    """A transactional send to an unknown address: Letter creates an email-only contact."""
    doc = {"type": "doc", "content": [{"type": "paragraph",
                                       "content": [{"type": "text", "text": "Hi"}]}]}
    sent = client.post(f"/v1/projects/{slug}/messages", headers=owner.headers,
                       json={"to": {"email": email}, "subject": "Hi", "body_doc": doc})
    assert sent.status_code == 202, sent.text


@pytest.fixture
def people(client: Any, project: dict[str, Any], ingest_headers: dict[str, str]) -> list[str]:
    ids = [f"user_{i}" for i in range(5)]
    ingest(client, ingest_headers, *[
        {"type": "identify", "user_id": u, "email": f"{u}@example.com"} for u in ids])
    return ids
