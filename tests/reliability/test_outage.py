"""A database outage answers 503 with Retry-After, in the error shape, on the
Management API and on the ingestion fast path alike; once the database is
back the same requests succeed. A PostgreSQL database that refuses
connections stands in for a restart; on SQLite, a writer holding the lock past
the busy timeout."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import exc, text

from letter.app import create_app
from letter.auth import service as auth_service
from letter.db.engine import Database
from letter.db.migrate import upgrade
from letter.db.outage import is_unavailable
from letter.projects import service as projects
from letter.runtime import Runtime
from letter.settings import Settings
from tests.conftest import PG_URL, _pg_admin_engine, create_pg_database

BATCH = {"batch": [{"type": "identify", "userId": "u1", "traits": {"email": "u1@example.com"}}]}


def serve(url: str, tmp_path: Path) -> tuple[TestClient, str, str]:
    upgrade(url)
    db = Database.from_url(url)
    settings = replace(Settings.from_env({"LETTER_DATA_DIR": str(tmp_path),
                                          "LETTER_SECRET_KEY": "k"}), database_url=url)
    with db.session() as session:
        _, workspace, token = auth_service.bootstrap(session, email="o@acme.test",
                                                     workspace_name="W")
        project = projects.create_project(session, workspace.id, "Acme", "UTC")
        key = projects.create_key(session, project.id, "test")
    # As uvicorn: the error handler answers, the exception is only logged.
    client = TestClient(create_app(runtime=Runtime.build(settings, db=db)),
                        raise_server_exceptions=False)
    return client, token.raw, key.raw


def assert_unavailable(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    body = response.json()["error"]
    assert body["code"] == "service_unavailable" and body["retryAfter"] == 1


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("needs LETTER_TEST_DATABASE_URL")
    url, drop = create_pg_database(PG_URL)
    try:
        yield url
    finally:
        with _pg_admin_engine(PG_URL).connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{url.rsplit("/", 1)[1]}" ALLOW_CONNECTIONS true'))
        drop()


def test_postgresql_refusing_connections_is_503_then_recovers(pg_url: str,
                                                              tmp_path: Path) -> None:
    client, token, key = serve(pg_url, tmp_path)
    me = {"Authorization": f"Bearer {token}"}
    ingest = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/me", headers=me).status_code == 200
    name = pg_url.rsplit("/", 1)[1]
    admin = _pg_admin_engine(PG_URL or "")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
    assert_unavailable(client.get("/v1/me", headers=me))
    assert_unavailable(client.post("/v1/batch", json=BATCH, headers=ingest))
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    admin.dispose()
    assert client.get("/v1/me", headers=me).status_code == 200
    assert client.post("/v1/batch", json=BATCH, headers=ingest).status_code == 200


def test_sqlite_locked_past_the_busy_timeout_is_503(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("letter.db.engine.SQLITE_BUSY_TIMEOUT_MS", 200)
    url = f"sqlite:///{tmp_path / 'letter.db'}"
    client, _token, key = serve(url, tmp_path)
    ingest = {"Authorization": f"Bearer {key}"}
    holder = sqlite3.connect(tmp_path / "letter.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert_unavailable(client.post("/v1/batch", json=BATCH, headers=ingest))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert client.post("/v1/batch", json=BATCH, headers=ingest).status_code == 200


def test_only_transient_failures_count_as_unavailable() -> None:
    locked = exc.OperationalError("x", {}, sqlite3.OperationalError("database is locked"))
    missing = exc.OperationalError("x", {}, sqlite3.OperationalError("no such table: t"))
    assert is_unavailable(locked) and not is_unavailable(missing)
    assert is_unavailable(exc.TimeoutError("pool exhausted"))
    assert not is_unavailable(ValueError("x"))
