"""Several drainers at once (real commits, separate connections) never send a
message twice."""

from __future__ import annotations

import email
import threading
from collections import Counter
from dataclasses import replace

from sqlalchemy import select

from letter.auth import service as auth_service
from letter.contacts.models import Contact
from letter.delivery import service
from letter.delivery.models import Message
from letter.projects import service as projects
from letter.runtime import Runtime
from letter.worker.outbox import drain_outbox as drain
from tests.delivery.conftest import doc


def test_parallel_drains_share_the_outbox(committed_db, settings, smtp):
    with committed_db.session() as session:
        _, ws, _ = auth_service.bootstrap(session, email="c@acme.test", workspace_name="C")
        project = projects.create_project(session, ws.id, "Acme", "UTC")
        for i in range(120):
            contact = Contact(project_id=project.id, email=f"p{i}@example.com", traits={})
            session.add(contact)
            session.flush()
            service.queue_message(session, project, contact, kind="bulk", subject="Hi",
                                  body_doc=doc("x"), sending_domain="letter.localhost")
    runtime = Runtime.build(replace(settings, email_transport="smtp", smtp_url=smtp.url,
                                    outbox_batch_size=10), db=committed_db)
    errors: list[BaseException] = []

    def work(owner: str) -> None:
        try:
            while drain(runtime, owner=owner):
                pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    counts = Counter(email.message_from_bytes(m.data)["Message-ID"] for m in smtp.messages)
    assert len(counts) == 120 and max(counts.values()) == 1
    with committed_db.session() as session:
        assert set(session.scalars(select(Message.state))) == {"sent"}
