"""Ingestion keys are remembered for a second: a revocation in this process
takes effect at once, one made elsewhere (another process) within ``TTL``."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from letter.projects import keys
from letter.projects.models import ProjectKey
from tests.conftest import assert_error

BODY = {"user_id": "u1"}


def test_a_key_revoked_by_another_process_is_refused_within_the_ttl(
    client, ingest_headers, db
):
    assert client.post("/v1/identify", json=BODY, headers=ingest_headers).status_code == 200
    # As another process would: straight in the database, this process not told.
    with db.session() as session:
        session.execute(update(ProjectKey).values(revoked_at=datetime.now(UTC)))
        session.commit()
    time.sleep(keys.TTL + 0.05)
    assert_error(client.post("/v1/identify", json=BODY, headers=ingest_headers), 401,
                 "unauthorized")


def test_a_deleted_projects_key_is_refused_at_once(client, owner, project, ingest_headers):
    assert client.post("/v1/identify", json=BODY, headers=ingest_headers).status_code == 200
    deleted = client.delete(f"/v1/projects/{project['slug']}", headers=owner.headers)
    assert deleted.status_code == 204
    assert_error(client.post("/v1/identify", json=BODY, headers=ingest_headers), 401,
                 "unauthorized")


def test_last_used_at_is_written_at_most_once_a_minute(client, ingest_headers, db):
    assert client.post("/v1/identify", json=BODY, headers=ingest_headers).status_code == 200
    with db.session() as session:
        first = session.scalar(select(ProjectKey.last_used_at))
    assert first is not None
    assert client.post("/v1/identify", json=BODY, headers=ingest_headers).status_code == 200
    with db.session() as session:
        assert session.scalar(select(ProjectKey.last_used_at)) == first
        # A minute on (as the stored value says), the next call records its use.
        session.execute(update(ProjectKey).values(last_used_at=first - timedelta(minutes=2)))
        session.commit()
    keys.forget_keys()
    assert client.post("/v1/identify", json=BODY, headers=ingest_headers).status_code == 200
    with db.session() as session:
        assert session.scalar(select(ProjectKey.last_used_at)) > first
