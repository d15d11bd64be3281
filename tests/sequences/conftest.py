"""Fixtures for sequences: a project with an ingestion key, graph builders,
and ``flows`` to create, publish, ingest and run the engine at a chosen time."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from letter.clock import utcnow
from letter.contacts.models import Contact
from letter.db.engine import Database
from letter.delivery.models import Message
from letter.sequences.engine import run_due
from letter.sequences.models import Enrollment


def node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": kind, "position": {"x": 0, "y": 0},
            "config": {"type": kind, **config}}


def edge(source: str, target: str, branch: str | None = None) -> dict[str, Any]:
    found = {"id": f"{source}-{target}", "source": source, "target": target}
    if branch:
        found["branch"] = branch
    return found


def doc(text: str) -> dict[str, Any]:
    return {"type": "doc", "content": [{"type": "paragraph",
                                        "content": [{"type": "text", "text": text}]}]}


def email(node_id: str, subject: str, body: str = "Hello {{ contact.traits.name }}",
          **extra: Any) -> dict[str, Any]:
    return node(node_id, "email", subject=subject, bodyDoc=doc(body), **extra)


def chain(*nodes: dict[str, Any]) -> dict[str, Any]:
    """A straight graph: each node leads to the next."""
    return {"nodes": list(nodes),
            "edges": [edge(a["id"], b["id"]) for a, b in pairwise(nodes)]}


SIGNED_UP = {"type": "event", "eventName": "Signed Up"}


@dataclass
class Flows:
    client: TestClient
    headers: dict[str, str]
    ingest: dict[str, str]
    slug: str
    db: Database

    @property
    def base(self) -> str:
        return f"/v1/projects/{self.slug}/sequences"

    def create(self, graph: dict[str, Any], trigger: dict[str, Any] | None,
               publish: bool = True) -> str:
        created = self.client.post(self.base, json={"name": "Flow"}, headers=self.headers)
        assert created.status_code == 201, created.text
        sid: str = created.json()["id"]
        self.draft(sid, graph, trigger)
        if publish:
            self.publish(sid)
        return sid

    def draft(self, sid: str, graph: dict[str, Any], trigger: dict[str, Any] | None) -> None:
        revision = self.client.get(f"{self.base}/{sid}", headers=self.headers).json()[
            "draft_revision"]
        saved = self.client.put(f"{self.base}/{sid}/draft", headers=self.headers, json={
            "graph": graph, "trigger": trigger, "expected_revision": revision})
        assert saved.status_code == 200, saved.text

    def publish(self, sid: str) -> int:
        done = self.client.post(f"{self.base}/{sid}/publish", headers=self.headers)
        assert done.status_code == 201, done.text
        number: int = done.json()["version_number"]
        return number

    def batch(self, *items: dict[str, Any], skip_triggers: bool = False) -> None:
        done = self.client.post("/v1/batch", headers=self.ingest, json={
            "batch": list(items), "skip_triggers": skip_triggers})
        assert done.status_code == 200 and not done.json()["rejected"], done.text

    def identify(self, user: str, **traits: Any) -> None:
        self.batch({"type": "identify", "user_id": user, "email": f"{user}@example.com",
                    "traits": traits})

    def track(self, user: str, event: str, skip_triggers: bool = False, **props: Any) -> None:
        self.batch({"type": "track", "user_id": user, "event": event, "properties": props},
                   skip_triggers=skip_triggers)

    def run(self, after: timedelta = timedelta(0), now: datetime | None = None) -> int:
        """Run the engine until nothing is due at ``now`` (default: now + after)."""
        at = (now or utcnow()) + after
        total = 0
        while True:
            with self.db.session() as session:
                done = run_due(session, now=at, sending_domain="letter.localhost")
            if not done:
                return total
            total += done

    def enrollments(self, sid: str) -> list[Enrollment]:
        with self.db.session() as session:
            return list(session.scalars(select(Enrollment).where(
                Enrollment.sequence_id == uuid.UUID(sid))
                .order_by(Enrollment.created_at, Enrollment.id)))

    def one(self, sid: str) -> Enrollment:
        found = self.enrollments(sid)
        assert len(found) == 1, found
        return found[0]

    def messages(self, sid: str) -> list[Message]:
        with self.db.session() as session:
            return list(session.scalars(select(Message).where(
                Message.sequence_id == uuid.UUID(sid))
                .order_by(Message.created_at)))

    def contact(self, user: str) -> Contact:
        with self.db.session() as session:
            return session.scalars(select(Contact).where(Contact.external_id == user)).one()


@pytest.fixture
def flows(client: TestClient, owner: Any, project: dict[str, Any], db: Database) -> Flows:
    key = client.post(f"/v1/projects/{project['slug']}/keys", json={"name": "server"},
                      headers=owner.headers).json()["key"]
    return Flows(client, owner.headers, {"Authorization": f"Bearer {key}"}, project["slug"], db)


MakeFlows = Callable[..., Flows]
