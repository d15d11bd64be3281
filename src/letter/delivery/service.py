"""Queueing email into the outbox, and the message log.

Sequences, broadcasts and the transactional API call :func:`queue_message`;
the worker (``letter.delivery.drain``) renders and sends later, with the
contact's data as it is then.

>>> message = queue_message(session, project, contact, kind="bulk", subject="Hi",
...                         body_doc=doc, sending_domain="letter.localhost")   # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from letter.audience.service import subscribe_new_contacts
from letter.broadcasts.models import Broadcast
from letter.clock import utcnow
from letter.contacts.models import Contact
from letter.contacts.service import find_by_email
from letter.db.pagination import PageParams, PageResult, paginate
from letter.delivery.models import (
    KINDS,
    PRIORITY,
    Message,
    MessageEvent,
    MessageKind,
    MessageState,
)
from letter.delivery.sender import from_address
from letter.domains.service import check_email, domain_of
from letter.errors import Invalid, NotFound
from letter.ids import uuid7
from letter.projects.models import Project
from letter.templates import service as templates
from letter.templates.render import CompiledContent, compile_content

__all__ = [
    "compile_for",
    "get_message",
    "list_messages",
    "message_history",
    "queue_message",
    "resolve_recipient",
]


def compile_for(
    session: Session, project_id: uuid.UUID, *, subject: str, preview: str | None,
    body_doc: Any, template_id: uuid.UUID | None,
) -> CompiledContent:
    """Validate and compile content with its template (the project default when none)."""
    if template_id is not None:
        design = templates.get_template(session, project_id, template_id).design
    else:
        default = templates.default_template(session, project_id)
        design = default.design if default else templates.PRESETS["branded"]
    if not subject or not subject.strip():
        raise Invalid("subject: must not be empty")
    return compile_content(design, subject=subject, preview=preview, body_doc=body_doc)


def _message_id_header(message_id: uuid.UUID, project: Project, sending_domain: str) -> str:
    return f"<{message_id}@{domain_of(from_address(project, sending_domain))}>"


def queue_message(
    session: Session, project: Project, contact: Contact | None, *, kind: str, subject: str,
    body_doc: Any, sending_domain: str, preview: str | None = None,
    template_id: uuid.UUID | None = None, data: dict[str, Any] | None = None,
    to_email: str | None = None, broadcast_id: uuid.UUID | None = None,
    sequence_id: uuid.UUID | None = None, send_at: datetime | None = None,
) -> Message:
    """Validate the content now (so a bad body fails the caller, not the worker)
    and add one ``queued`` message."""
    if kind not in KINDS or kind == MessageKind.SYSTEM:
        raise ValueError(kind)
    compile_for(session, project.id, subject=subject, preview=preview, body_doc=body_doc,
                template_id=template_id)
    address = to_email or (contact.email if contact else None)
    if not address:
        raise Invalid("to: the contact has no email address")
    now = utcnow()
    message_id = uuid7()
    message = Message(
        id=message_id, project_id=project.id, contact_id=contact.id if contact else None,
        to_email=address, kind=kind, priority=PRIORITY[MessageKind(kind)], subject=subject,
        preview=preview,
        body_doc=body_doc, template_id=template_id, data=data or {}, broadcast_id=broadcast_id,
        sequence_id=sequence_id, state=MessageState.QUEUED, next_attempt_at=send_at or now,
        message_id_header=_message_id_header(message_id, project, sending_domain),
        created_at=now,
    )
    session.add(message)
    session.add(MessageEvent(project_id=project.id, message_id=message_id,
                             state=MessageState.QUEUED, created_at=now))
    session.flush()
    return message


def resolve_recipient(
    session: Session, project: Project, *, external_id: str | None, email: str | None
) -> Contact:
    """Find the contact to send to; an unknown email becomes a new contact so
    its bounces and complaints are remembered."""
    if external_id is not None:
        contact = session.scalars(select(Contact).where(
            Contact.project_id == project.id, Contact.external_id == external_id)).one_or_none()
        if contact is None:
            raise NotFound(f'to: no contact with external_id "{external_id}"')
        return contact
    if not email:
        raise Invalid("to: give external_id or email")
    email = check_email("to.email", email)
    found = find_by_email(session, project.id, email)
    if found is not None:
        return found
    contact = Contact(project_id=project.id, email=email, traits={})
    session.add(contact)
    session.flush()
    subscribe_new_contacts(session, project.id, [contact.id])
    return contact


def list_messages(
    session: Session, project_id: uuid.UUID, page: PageParams, *, contact_id: uuid.UUID | None,
    state: str | None, broadcast_id: uuid.UUID | None, sequence_id: uuid.UUID | None,
) -> PageResult[Message]:
    stmt = select(Message).where(Message.project_id == project_id)
    if contact_id is not None:
        stmt = stmt.where(Message.contact_id == contact_id)
    if state is not None:
        stmt = stmt.where(Message.state == state)
    if broadcast_id is not None:
        stmt = stmt.where(Message.broadcast_id == broadcast_id)
    if sequence_id is not None:
        stmt = stmt.where(Message.sequence_id == sequence_id)
    return paginate(session, stmt, Message, page, newest_first=True)


def get_message(session: Session, project_id: uuid.UUID, message_id: uuid.UUID) -> Message:
    message = session.scalars(select(Message).where(
        Message.project_id == project_id, Message.id == message_id)).one_or_none()
    if message is None:
        raise NotFound(f"No message {message_id} in this project.")
    return message


def message_body(session: Session, message: Message) -> dict[str, Any]:
    """The message's body document: its own, else its broadcast's (a
    broadcast's rows hold none); empty once that broadcast is deleted."""
    if message.body_doc is not None:
        return message.body_doc
    if message.broadcast_id is None:
        return {}
    body = session.scalar(select(Broadcast.body_doc).where(
        Broadcast.project_id == message.project_id, Broadcast.id == message.broadcast_id))
    return body or {}


def message_history(session: Session, message: Message) -> list[MessageEvent]:
    stmt = (select(MessageEvent).where(MessageEvent.message_id == message.id)
            .order_by(MessageEvent.created_at, MessageEvent.id))
    return list(session.scalars(stmt))
