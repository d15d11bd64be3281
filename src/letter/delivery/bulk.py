"""Queueing and cancelling many messages at once (broadcasts, sequence steps).

The content is validated and compiled once for the whole batch; rows go in
with one executemany, so a broadcast to 100,000 contacts is a few statements.

>>> queue_bulk(session, project, contacts, subject="May news", preview=None,
...            body_doc=doc, template_id=None, sending_domain="letter.localhost",
...            broadcast_id=broadcast.id)                                   # doctest: +SKIP
100000
>>> cancel_queued(session, project.id, broadcast_id=broadcast.id)          # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from letter.clock import utcnow
from letter.contacts.models import Contact
from letter.delivery.models import PRIORITY, Message, MessageEvent
from letter.delivery.sender import from_address
from letter.delivery.service import compile_for
from letter.domains.service import domain_of
from letter.ids import uuid7
from letter.projects.models import Project

__all__ = ["cancel_queued", "queue_bulk"]

_MESSAGES = cast(Table, Message.__table__)
_HISTORY = cast(Table, MessageEvent.__table__)
CHUNK = 5000


def queue_bulk(
    session: Session, project: Project, contacts: Iterable[Contact], *, subject: str,
    preview: str | None, body_doc: Any, template_id: uuid.UUID | None, sending_domain: str,
    broadcast_id: uuid.UUID | None = None, sequence_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None, send_at: datetime | None = None,
) -> int:
    """Queue one bulk message per contact with an email; returns how many."""
    compile_for(session, project.id, subject=subject, preview=preview, body_doc=body_doc,
                template_id=template_id)
    domain = domain_of(from_address(project, sending_domain))
    now = utcnow()
    rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    count = 0

    def flush() -> None:
        if rows:
            session.execute(_MESSAGES.insert(), rows)
            session.execute(_HISTORY.insert(), history)
            rows.clear()
            history.clear()

    for contact in contacts:
        if not contact.email:
            continue
        mid = uuid7()
        rows.append({
            "id": mid, "project_id": project.id, "contact_id": contact.id,
            "to_email": contact.email, "kind": "bulk", "priority": PRIORITY["bulk"],
            "subject": subject, "preview": preview, "body_doc": body_doc,
            "template_id": template_id, "data": data or {}, "broadcast_id": broadcast_id,
            "sequence_id": sequence_id, "state": "queued", "attempts": 0,
            "next_attempt_at": send_at or now, "message_id_header": f"<{mid}@{domain}>",
            "created_at": now, "updated_at": now,
        })
        history.append({"id": uuid7(), "project_id": project.id, "message_id": mid,
                        "state": "queued", "detail": None, "created_at": now})
        count += 1
        if len(rows) >= CHUNK:
            flush()
    flush()
    return count


def cancel_queued(
    session: Session, project_id: uuid.UUID, *, broadcast_id: uuid.UUID | None = None,
    sequence_id: uuid.UUID | None = None,
) -> int:
    """Cancel the still-queued messages of a broadcast or sequence (messages
    already claimed by a worker are in flight and go out)."""
    if broadcast_id is None and sequence_id is None:
        raise ValueError("give broadcast_id or sequence_id")
    stmt = select(Message.id).where(Message.project_id == project_id,
                                    Message.state == "queued")
    if broadcast_id is not None:
        stmt = stmt.where(Message.broadcast_id == broadcast_id)
    if sequence_id is not None:
        stmt = stmt.where(Message.sequence_id == sequence_id)
    ids = list(session.scalars(stmt))
    if not ids:
        return 0
    now = utcnow()
    for i in range(0, len(ids), 1000):
        part = ids[i : i + 1000]
        session.execute(update(Message).where(Message.id.in_(part), Message.state == "queued")
                        .values(state="cancelled", updated_at=now)
                        .execution_options(synchronize_session=False))
        session.execute(_HISTORY.insert(), [
            {"id": uuid7(), "project_id": project_id, "message_id": mid, "state": "cancelled",
             "detail": None, "created_at": now} for mid in part])
    return len(ids)
