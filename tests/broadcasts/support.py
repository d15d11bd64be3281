"""Helpers to run a broadcast's jobs and the outbox in-process, and to read
the outbox's truth."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from letter.broadcasts.sending import settle
from letter.clock import utcnow
from letter.db.engine import Database
from letter.delivery.models import Message
from letter.runtime import Runtime
from letter.worker.loop import Worker
from letter.worker.outbox import drain_outbox

DOC = {"type": "doc", "content": [{"type": "paragraph", "content": [
    {"type": "text", "text": "Hello {{ contact.traits.name | default: 'there' }}"}]}]}


def run_broadcast_jobs(runtime: Runtime) -> int:
    worker = Worker(runtime, queues=["broadcasts"])
    done = 0
    while worker.run_queue_once("broadcasts"):
        done += 1
    return done


def drain_all(runtime: Runtime, now: datetime | None = None, limit: int | None = None) -> int:
    total = 0
    while True:
        handled = drain_outbox(runtime, now=now, limit=limit)
        if not handled:
            return total
        total += handled


def settle_now(db: Database, now: datetime | None = None) -> None:
    with db.session() as session:
        settle(session, now or utcnow())


def outbox_states(db: Database, broadcast_id: str) -> Counter[str]:
    with db.session() as session:
        rows = session.execute(select(Message.state, func.count()).where(
            Message.broadcast_id == uuid.UUID(broadcast_id)).group_by(Message.state))
        return Counter({state: n for state, n in rows})


def start_broadcast(api: Any, owner: Any, slug: str, audience: dict[str, Any],
                    scheduled_at: str | None = None, **schedule: Any) -> dict[str, Any]:
    base = f"/v1/projects/{slug}/broadcasts"
    created = api.post(base, headers=owner.headers, json={
        "name": "News", "subject": "News for {{ contact.email }}", "body_doc": DOC,
        "audience": audience})
    assert created.status_code == 201, created.text
    b: dict[str, Any] = created.json()
    scheduled = api.post(f"{base}/{b['id']}/schedule", headers=owner.headers,
                         json={"scheduled_at": scheduled_at, **schedule})
    assert scheduled.status_code == 200, scheduled.text
    return scheduled.json()


def recipients(smtp: Any) -> Counter[str]:
    return Counter(rcpt for m in smtp.messages for rcpt in m.rcpt_tos)
