"""Dashboard test support: people with passwords, signed-in clients, and
forms posted the way htmx posts them (the CSRF token in a header)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from letter.auth import service as auth_service
from letter.auth.models import Membership
from letter.auth.security import hash_password
from tests.web.support import sign_in

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'"X-CSRF-Token": "([0-9a-f]+)"')


@dataclass
class Person:
    email: str
    user_id: uuid.UUID
    workspace_id: uuid.UUID
    role: str


def person(db: Any, role: str = "owner", workspace: Person | None = None) -> Person:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    with db.session() as session:
        if workspace is None:
            user, ws, _ = auth_service.bootstrap(
                session, email=email, workspace_name=f"WS {email[:4]}", password=PASSWORD)
            m = session.query(Membership).filter_by(user_id=user.id, workspace_id=ws.id).one()
            m.role = role
            return Person(email, user.id, ws.id, role)
        user = auth_service.get_or_create_user(session, email)
        user.password_hash = hash_password(PASSWORD)
        session.add(Membership(workspace_id=workspace.workspace_id, user_id=user.id, role=role))
        return Person(email, user.id, workspace.workspace_id, role)


class Browser:
    """A signed-in TestClient that sends the page's CSRF token like htmx does."""

    def __init__(self, client: TestClient, who: Person) -> None:
        self.client = client
        self.who = who
        done = sign_in(client, who.email, PASSWORD)
        assert done.status_code == 303, done.text
        self.csrf = TOKEN.search(client.get("/").text).group(1)  # type: ignore[union-attr]

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: str | None = None,
             htmx: bool = True, **kw: Any) -> Any:
        headers = {"X-CSRF-Token": self.csrf if csrf is None else csrf}
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.post(url, data=data or {}, headers=headers,
                                follow_redirects=False, **kw)


def browser(make_client: Any, db: Any, role: str = "owner",
            workspace: Person | None = None) -> Browser:
    return Browser(make_client(), person(db, role, workspace))


def new_project(b: Browser, name: str = "Acme") -> str:
    done = b.post("/projects", {"name": name, "timezone": "Europe/Paris"})
    assert done.status_code == 200 and done.headers.get("hx-redirect"), done.text
    return str(done.headers["hx-redirect"]).removeprefix("/p/")
