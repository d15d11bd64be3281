"""Fixtures for delivery tests: loopback SMTP and DNS servers, a runtime that
sends over SMTP, and helpers to make contacts and queue mail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from letter.app import create_app
from letter.contacts.models import Contact
from letter.db.engine import Database
from letter.projects.models import Project
from letter.runtime import Runtime
from letter.settings import Settings
from tests.servers import DnsServer, SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    server = DnsServer().start()
    yield server
    server.stop()


@pytest.fixture
def runtime(db: Database, settings: Settings, smtp: SmtpServer, dns_server: DnsServer
            ) -> Iterator[Runtime]:
    rt = Runtime.build(replace(settings, email_transport="smtp", smtp_url=smtp.url,
                               dns_resolver=dns_server.address), db=db)
    yield rt
    close = getattr(rt.transport, "close", None)
    if close:
        close()


@pytest.fixture
def api(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime=runtime))


@pytest.fixture
def project_row(db: Database, api: TestClient, owner: Any) -> Project:
    body = api.post("/v1/projects", json={"name": "Acme", "timezone": "Europe/Paris"},
                    headers=owner.headers).json()
    with db.session() as session:
        return session.scalars(select(Project).where(Project.slug == body["slug"],
                                                     Project.workspace_id == owner.workspace_id)
                               ).one()


@pytest.fixture
def make_contact(db: Database, project_row: Project) -> Callable[..., Contact]:
    def make(email: str, traits: dict[str, Any] | None = None, external_id: str | None = None
             ) -> Contact:
        with db.session() as session:
            contact = Contact(project_id=project_row.id, email=email, traits=traits or {},
                              external_id=external_id)
            session.add(contact)
            session.flush()
            return contact

    return make


def doc(*paragraphs: str) -> dict[str, Any]:
    return {"type": "doc", "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": p}]} for p in paragraphs]}
