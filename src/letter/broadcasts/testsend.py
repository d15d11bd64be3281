"""A ``[Test]`` copy of a broadcast to any address, rendered as a chosen
contact (or as nobody), through the outbox like every email.

>>> send_test(session, project, broadcast, to="me@acme.test", as_external_id="u1",
...           sending_domain="letter.localhost")          # doctest: +SKIP
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from letter.broadcasts.models import Broadcast
from letter.contacts.models import Contact
from letter.delivery.models import Message, MessageKind
from letter.delivery.service import queue_message
from letter.domains.service import check_email
from letter.errors import Invalid
from letter.projects.models import Project

__all__ = ["send_test"]


def send_test(session: Session, project: Project, broadcast: Broadcast, *, to: str,
              as_external_id: str | None, sending_domain: str) -> Message:
    address = check_email("to", to)
    if not (broadcast.subject or "").strip():
        raise Invalid("subject: missing")
    if not isinstance(broadcast.body_doc, dict) or not broadcast.body_doc.get("content"):
        raise Invalid("body_doc: missing")
    contact = None
    if as_external_id is not None:
        contact = session.scalars(select(Contact).where(
            Contact.project_id == project.id, Contact.external_id == as_external_id)
        ).one_or_none()
        if contact is None:
            raise Invalid(f'as_external_id: no contact "{as_external_id}" in this project')
    return queue_message(
        session, project, contact, kind=MessageKind.TEST, subject=f"[Test] {broadcast.subject}",
        preview=broadcast.preview, body_doc=broadcast.body_doc,
        template_id=broadcast.template_id, to_email=address, sending_domain=sending_domain)
