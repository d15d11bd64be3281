"""The worker prunes message receipts past the 30-day retention window."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from letter.clock import utcnow
from letter.contacts.models import Event, MessageReceipt
from letter.ingestion import service
from letter.runtime import Runtime
from letter.worker.loop import Worker
from tests.ingestion.conftest import ingest_headers, ingest_key

__all__ = ["ingest_headers", "ingest_key"]  # fixtures shared with the ingestion tests


def test_old_receipts_are_pruned_by_the_worker_job(client, project, ingest_headers, db,
                                                   settings):
    for m in ("old", "new"):
        client.post("/v1/track", json={"user_id": "u", "event": m, "message_id": m},
                    headers=ingest_headers)
    with db.session() as session:
        old = session.get(MessageReceipt, (session.scalar(select(MessageReceipt.project_id)),
                                           "old"))
        assert old is not None
        old.received_at = utcnow() - timedelta(days=31)
    worker = Worker(Runtime.build(settings, db=db), queues=["default"])
    assert worker.schedule_periodic() >= 1
    while worker.run_queue_once("default"):
        pass
    with db.session() as session:
        assert session.scalars(select(MessageReceipt.message_id)).all() == ["new"]


def test_prune_goes_in_chunks(db, client, project, ingest_headers, monkeypatch):
    monkeypatch.setattr(service, "PRUNE_CHUNK", 2)
    client.post("/v1/batch", json={"batch": [
        {"type": "track", "user_id": "u", "event": "E", "message_id": f"m{i}"}
        for i in range(5)]}, headers=ingest_headers)
    later = utcnow() + timedelta(days=31)
    with db.session() as session:
        assert [service.prune_receipts(session, later) for _ in range(4)] == [2, 2, 1, 0]


def test_a_receipt_past_retention_no_longer_dedupes(client, project, ingest_headers, db):
    body = {"user_id": "u", "event": "E", "message_id": "m"}
    client.post("/v1/track", json=body, headers=ingest_headers)
    with db.session() as session:
        receipt = session.scalars(select(MessageReceipt)).one()
        receipt.received_at = utcnow() - timedelta(days=30, seconds=1)
    result = client.post("/v1/track", json=body, headers=ingest_headers).json()
    assert result == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert client.post("/v1/track", json=body, headers=ingest_headers).json()["duplicates"] == 1
    with db.session() as session:
        assert len(session.scalars(select(Event)).all()) == 2
