"""Shared fixtures: every database test runs on SQLite and, when
``LETTER_TEST_DATABASE_URL`` is set, on PostgreSQL too.

Each test runs inside a transaction that is rolled back; the app's own
commits become SAVEPOINT releases inside it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from letter.app import create_app
from letter.auth import service as auth_service
from letter.auth.models import Membership
from letter.db.engine import Database, make_engine
from letter.runtime import Runtime
from letter.settings import Settings
from letter.tables import Base

PG_URL = os.environ.get("LETTER_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _pg_admin_engine(url: str) -> Engine:
    return create_engine(
        make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )


def create_pg_database(base_url: str) -> tuple[str, Callable[[], None]]:
    """Create a private database for this test run and return its URL and a dropper."""
    name = f"letter_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine(base_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base_url).set(drivername="postgresql+psycopg", database=name)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


@contextmanager
def new_database(kind: str, directory: Path) -> Iterator[str]:
    """An empty database of ``kind``: a file in ``directory``, or a private
    PostgreSQL database dropped on exit."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'letter.db'}"
        return
    assert PG_URL
    url, drop = create_pg_database(PG_URL)
    try:
        yield url
    finally:
        drop()


@pytest.fixture(scope="session")
def backend_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The database shared by this backend's tests (schema created by ``engine``)."""
    with new_database(request.param, tmp_path_factory.mktemp("sqlite")) as url:
        yield url


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend_url" in metafunc.fixturenames:
        metafunc.parametrize("backend_url", BACKENDS, indirect=True, scope="session")


@pytest.fixture(params=BACKENDS)
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of each backend (for migrations, the CLI and
    servers started in a subprocess)."""
    with new_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def engine(backend_url: str) -> Iterator[Engine]:
    engine = make_engine(backend_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def db(connection: Connection) -> Database:
    sessions = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return Database(connection.engine, sessions)


@pytest.fixture
def committed_db(engine: Engine) -> Iterator[Database]:
    """A database whose commits are real (for concurrency and multi-connection
    tests); every table is emptied afterwards."""
    yield Database(engine)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings.from_env(
        {
            "LETTER_DATA_DIR": str(data_dir),
            "LETTER_SECRET_KEY": "test-secret-key",
            "LETTER_PUBLIC_URL": "http://letter.test",
        }
    )


@pytest.fixture
def make_client(db: Database, settings: Settings) -> Callable[..., TestClient]:
    def make(database: Database | None = None, **overrides: Any) -> TestClient:
        from dataclasses import replace

        runtime = Runtime.build(replace(settings, **overrides), db=database or db)
        app: FastAPI = create_app(runtime=runtime)
        return TestClient(app)

    return make


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@dataclass
class Account:
    """A user with a token in a workspace, as a test actor."""

    token: str
    user_id: uuid.UUID
    workspace_id: uuid.UUID
    email: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_account(db: Database) -> Callable[..., Account]:
    """``make_account()`` bootstraps an owner in a new workspace;
    ``make_account(role="member", workspace=owner)`` adds a user to one."""

    def make(
        role: str = "owner", workspace: Account | None = None, email: str | None = None
    ) -> Account:
        email = email or f"{uuid.uuid4().hex[:10]}@example.com"
        with db.session() as session:
            if workspace is None:
                user, ws, minted = auth_service.bootstrap(
                    session, email=email, workspace_name=f"ws-{email}"
                )
                membership = (
                    session.query(Membership).filter_by(user_id=user.id, workspace_id=ws.id).one()
                )
                membership.role = role
                return Account(minted.raw, user.id, ws.id, email)
            user = auth_service.get_or_create_user(session, email)
            session.add(Membership(workspace_id=workspace.workspace_id, user_id=user.id, role=role))
            session.flush()
            minted = auth_service.mint_token(
                session, user_id=user.id, workspace_id=workspace.workspace_id, name="test"
            )
            return Account(minted.raw, user.id, workspace.workspace_id, email)

    return make


@pytest.fixture
def owner(make_account: Callable[..., Account]) -> Account:
    return make_account()


@pytest.fixture
def project(client: TestClient, owner: Account) -> dict[str, Any]:
    response = client.post(
        "/v1/projects", json={"name": "Acme", "timezone": "Europe/Paris"}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is the spec's error shape with this status and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body
