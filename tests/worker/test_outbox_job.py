"""The worker's default jobs drain the outbox (file transport by default)."""

from __future__ import annotations

import email

from letter.auth import service as auth_service
from letter.contacts.models import Contact
from letter.delivery import service
from letter.projects import service as projects
from letter.runtime import Runtime
from letter.worker.loop import Worker
from letter.worker.registry import default_registry
from tests.delivery.conftest import doc


def test_default_worker_drains_the_outbox_to_eml_files(db, settings):
    runtime = Runtime.build(settings, db=db)
    with db.session() as session:
        _, ws, _ = auth_service.bootstrap(session, email="w@acme.test", workspace_name="W")
        project = projects.create_project(session, ws.id, "Acme", "UTC")
        contact = Contact(project_id=project.id, email="ada@example.com",
                          traits={"name": "Ada"})
        session.add(contact)
        session.flush()
        service.queue_message(session, project, contact, kind="bulk",
                              subject="Hi {{ contact.traits.name }}", body_doc=doc("Hello"),
                              sending_domain=settings.sending_domain)
    assert "outbox.drain" in [pump.name for pump in default_registry().pumps]
    worker = Worker(runtime, queues=["outbox"])
    assert worker.run_queue_once("outbox") == 1
    files = list(settings.outbox_dir.glob("*.eml"))
    assert len(files) == 1
    parsed = email.message_from_bytes(files[0].read_bytes())
    assert parsed["Subject"] == "Hi Ada" and parsed["To"] == "ada@example.com"
