"""A broadcast over real HTTP against a real ``letter serve`` (its own worker)
delivering to a real SMTP server: a segment's members get it exactly once, a
suppressed member never does, pause holds and resume finishes, a test copy
goes to any address, and live stats match the outbox at the end."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from letter.db.engine import Database
from letter.delivery.models import Message
from tests.e2e.conftest import LiveServer, start_server, stop_server
from tests.servers import SmtpServer

DOC = {"type": "doc", "content": [{"type": "paragraph", "content": [
    {"type": "text", "text": "Hi {{ contact.traits.name }}"}]}]}
MEMBERS = 400


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(tmp_path: Path, fresh_database_url: str, smtp: SmtpServer) -> Iterator[LiveServer]:
    live = start_server(tmp_path / "data", fresh_database_url, {
        "LETTER_EMAIL_TRANSPORT": "smtp", "LETTER_SMTP_URL": smtp.url,
        "LETTER_OUTBOX_BATCH_SIZE": "20"})
    try:
        yield live
    finally:
        stop_server(live)


def wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def received(smtp: SmtpServer) -> Counter[str]:
    return Counter(rcpt for m in smtp.messages for rcpt in m.rcpt_tos)


def test_broadcast_to_a_segment_end_to_end(server: LiveServer, smtp: SmtpServer,
                                           fresh_database_url: str) -> None:
    boot = server.bootstrap()
    auth = {"Authorization": f"Bearer {boot['token']}"}
    with httpx.Client(base_url=server.base_url, headers=auth, timeout=30) as http:
        assert http.post("/v1/projects", json={"name": "Acme"}).status_code == 201
        key = http.post("/v1/projects/acme/keys", json={"name": "k"}).json()["key"]
        batch = [{"type": "identify", "user_id": f"u{i}",
                  "traits": {"email": f"u{i}@example.com", "name": f"U{i}",
                             "plan": "paid" if i < MEMBERS else "free"}}
                 for i in range(MEMBERS + 30)]
        ingested = httpx.post(f"{server.base_url}/v1/batch", json={"batch": batch},
                              headers={"Authorization": f"Bearer {key}"})
        assert ingested.status_code == 200 and ingested.json()["accepted"] == MEMBERS + 30
        assert http.post("/v1/projects/acme/contacts/u0/suppress").status_code == 204
        seg = http.post("/v1/projects/acme/segments", json={"name": "Paid", "filter": {
            "kind": "trait", "path": "plan", "op": "eq", "value": "paid"}}).json()
        b = http.post("/v1/projects/acme/broadcasts", json={
            "name": "News", "subject": "News for {{ contact.traits.name }}", "body_doc": DOC,
            "audience": {"kind": "segment", "segmentId": seg["id"]}}).json()
        url = f"/v1/projects/acme/broadcasts/{b['id']}"
        check = http.post(f"{url}/preflight").json()
        assert (check["matches"], check["excluded"]["suppressed"]) == (MEMBERS - 1, 1)
        test = http.post(f"{url}/test", json={"to": "me@acme.test", "as_external_id": "u5"})
        assert test.status_code == 202
        wait_for(lambda: "me@acme.test" in received(smtp))
        assert b"[Test] News for U5" in smtp.messages[0].data

        assert http.post(f"{url}/schedule", json={"scheduled_at": None}).status_code == 200
        wait_for(lambda: len(smtp.messages) > 1 + 20)
        paused = http.post(f"{url}/pause")
        assert paused.status_code == 200 and paused.json()["status"] == "paused"
        time.sleep(1.5)  # a batch already claimed may still finish
        after_pause = len(smtp.messages)
        time.sleep(2)
        assert len(smtp.messages) == after_pause, "sent while paused"
        assert after_pause < MEMBERS, "all sent before the pause: grow the audience"
        print(f"\n{after_pause - 1} of {MEMBERS - 1} sent when paused")
        assert http.post(f"{url}/resume").json()["status"] == "sending"
        wait_for(lambda: http.get(f"{url}/live").json()["status"] == "sent")
        state = http.get(f"{url}/live").json()

    expected = Counter({f"u{i}@example.com": 1 for i in range(1, MEMBERS)})
    expected["me@acme.test"] = 1
    assert received(smtp) == expected
    db = Database.from_url(fresh_database_url)
    with db.session() as session:
        truth = dict(session.execute(select(Message.state, func.count())
                                     .where(Message.broadcast_id.is_not(None))
                                     .group_by(Message.state)).all())
    db.engine.dispose()
    assert truth == {"sent": MEMBERS - 1, "suppressed": 1}
    stats = state["stats"]
    assert (stats["sent"], stats["suppressed"], stats["queued"], stats["failed"]) == (
        MEMBERS - 1, 1, 0, 0)
    assert state["completed_at"] and len(state["activity"]) == 20
