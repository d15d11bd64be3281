"""Bulk queueing (broadcasts) and cancelling."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from letter.delivery.bulk import cancel_queued, queue_bulk
from letter.delivery.drain import drain
from letter.delivery.models import Message, MessageEvent
from letter.errors import Invalid
from letter.projects.models import Project
from tests.delivery.conftest import doc


def test_queue_bulk_then_cancel_what_is_left(db, runtime, project_row, make_contact, smtp):
    contacts = [make_contact(f"b{i}@example.com", traits={"name": f"N{i}"}) for i in range(5)]
    contacts.append(make_contact(None))
    broadcast = uuid.uuid4()
    with db.session() as session:
        project = session.get(Project, project_row.id)
        with pytest.raises(Invalid):
            queue_bulk(session, project, contacts, subject="x", preview=None,
                       body_doc={"type": "nope"}, template_id=None,
                       sending_domain="letter.localhost")
        assert queue_bulk(session, project, contacts, subject="Hi {{ contact.traits.name }}",
                          preview=None, body_doc=doc("x"), template_id=None,
                          sending_domain="letter.localhost", broadcast_id=broadcast) == 5
    assert drain(runtime, now=datetime.now(UTC) + timedelta(seconds=1), limit=2) == 2
    with db.session() as session:
        assert cancel_queued(session, project_row.id, broadcast_id=broadcast) == 3
        assert cancel_queued(session, project_row.id, broadcast_id=broadcast) == 0
        states = sorted(session.scalars(select(Message.state)))
        history = list(session.scalars(select(MessageEvent.state)))
    assert states == ["cancelled"] * 3 + ["sent"] * 2
    assert history.count("cancelled") == 3 and history.count("queued") == 5
    assert drain(runtime, now=datetime.now(UTC) + timedelta(seconds=1)) == 0
    assert len(smtp.messages) == 2
    subjects = {m.data.split(b"Subject: ")[1].split(b"\r\n")[0] for m in smtp.messages}
    assert len(subjects) == 2 and subjects <= {f"Hi N{i}".encode() for i in range(5)}
