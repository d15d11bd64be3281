"""Helpers for import and export tests: upload a CSV through the API and run
the background jobs in-process, as the worker would."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from letter.contacts.models import Contact
from letter.runtime import Runtime
from letter.worker.loop import Worker

BASE = "/v1/projects/acme/contacts"


def upload(client: TestClient, headers: dict[str, str], content: bytes,
           mapping: dict[str, str] | str | None, *, filename: str = "people.csv",
           slug: str = "acme", **fields: Any) -> Response:
    data: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    if mapping is not None:
        data["mapping"] = mapping if isinstance(mapping, str) else orjson.dumps(mapping).decode()
    return client.post(f"/v1/projects/{slug}/contacts/imports", data=data,
                       files={"file": (filename, content, "text/csv")}, headers=headers)


def run_jobs(client: TestClient, queues: tuple[str, ...] = ("imports", "exports")) -> int:
    """Run due jobs of these queues until none is left; returns how many ran."""
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    worker = Worker(runtime, queues=list(queues))
    ran = 0
    while True:
        done = sum(worker.run_queue_once(q) for q in queues)
        if not done:
            return ran
        ran += done


def import_csv(client: TestClient, headers: dict[str, str], content: bytes,
               mapping: dict[str, str] | str, **fields: Any) -> dict[str, Any]:
    """Upload, run to the end, and return the finished import."""
    created = upload(client, headers, content, mapping, **fields)
    assert created.status_code == 202, created.text
    run_jobs(client)
    job = client.get(f"{BASE}/imports/{created.json()['id']}", headers=headers)
    assert job.status_code == 200, job.text
    body: dict[str, Any] = job.json()
    return body


def contact_count(client: TestClient) -> int:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Contact)) or 0)
