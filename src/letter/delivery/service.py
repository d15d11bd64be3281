"""Queueing email into the outbox, previews, and the message log.

Sequences, broadcasts and the transactional API call :func:`queue_message`;
the worker (``letter.delivery.drain``) renders and sends later, with the
contact's data as it is then.

>>> message = queue_message(session, project, contact, kind="bulk", subject="Hi",
...                         body_doc=doc, sending_domain="letter.localhost")   # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from letter.clock import utcnow
from letter.contacts.models import Account, Contact
from letter.contacts.service import find_by_email
from letter.db.pagination import PageParams, PageResult, paginate
from letter.delivery.models import KINDS, PRIORITY, Message, MessageEvent
from letter.delivery.sender import from_address
from letter.domains.service import check_email, domain_of
from letter.errors import Invalid, NotFound
from letter.ids import uuid7
from letter.projects.models import Project
from letter.templates import service as templates
from letter.templates.render import CompiledContent, compile_content, missing_variables

__all__ = [
    "NodeContent",
    "Preview",
    "compile_for",
    "get_message",
    "list_messages",
    "message_history",
    "node_content",
    "preview_email",
    "queue_message",
    "queue_test_email",
    "render_context",
    "resolve_recipient",
]

TEST_PREFIX = "[Test] "


@dataclass(frozen=True)
class Preview:
    subject: str
    html: str
    text: str
    missing: list[str]


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


def render_context(
    project: Project, contact: Contact | None, account: Account | None, data: dict[str, Any],
    unsubscribe_url: str, email: str | None = None,
) -> dict[str, Any]:
    """The Liquid variables: contact, account, event, data, project, unsubscribe_url."""
    return {
        "contact": {
            "id": str(contact.id), "external_id": contact.external_id,
            "email": contact.email, "traits": contact.traits or {},
        } if contact else {"email": email, "traits": {}},
        "account": {"id": str(account.id), "external_id": account.external_id,
                    "name": account.name, "traits": account.traits or {}} if account else {},
        "event": data.get("event") or {},
        "data": data,
        "project": {"name": project.name, "slug": project.slug},
        "unsubscribe_url": unsubscribe_url,
    }


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
    if kind not in KINDS:
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
        to_email=address, kind=kind, priority=PRIORITY[kind], subject=subject, preview=preview,
        body_doc=body_doc, template_id=template_id, data=data or {}, broadcast_id=broadcast_id,
        sequence_id=sequence_id, state="queued", next_attempt_at=send_at or now,
        message_id_header=_message_id_header(message_id, project, sending_domain),
        created_at=now,
    )
    session.add(message)
    session.add(MessageEvent(project_id=project.id, message_id=message_id, state="queued",
                             created_at=now))
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
    return contact


def preview_email(
    session: Session, project: Project, *, subject: str, preview: str | None, body_doc: Any,
    template_id: uuid.UUID | None, public_url: str, recipient_email: str | None = None,
    data: dict[str, Any] | None = None,
) -> Preview:
    """Render content for one recipient (a contact with that email, if any) without
    sending; lists the variables that rendered empty."""
    content = compile_for(session, project.id, subject=subject, preview=preview,
                          body_doc=body_doc, template_id=template_id)
    contact = None
    if recipient_email:
        contact = find_by_email(session, project.id, recipient_email)
    account = session.get(Account, contact.account_id) if contact and contact.account_id else None
    context = render_context(project, contact, account, data or {},
                             f"{public_url}/unsubscribe/preview", email=recipient_email)
    rendered = content.render(context)
    return Preview(rendered.subject, rendered.html, rendered.text,
                   missing_variables(content, context))


def queue_test_email(
    session: Session, project: Project, *, to_email: str, subject: str, preview: str | None,
    body_doc: Any, template_id: uuid.UUID | None, sending_domain: str,
    data: dict[str, Any] | None = None, sequence_id: uuid.UUID | None = None,
) -> Message:
    """Queue a ``[Test]`` copy to ``to_email`` (ahead of bulk mail, never tracked)."""
    contact = find_by_email(session, project.id, to_email)
    return queue_message(
        session, project, contact, kind="test", subject=TEST_PREFIX + subject, preview=preview,
        body_doc=body_doc, template_id=template_id, data=data, to_email=to_email,
        sending_domain=sending_domain, sequence_id=sequence_id,
    )


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


def message_history(session: Session, message: Message) -> list[MessageEvent]:
    stmt = (select(MessageEvent).where(MessageEvent.message_id == message.id)
            .order_by(MessageEvent.created_at, MessageEvent.id))
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class NodeContent:
    subject: str
    preview: str | None
    body_doc: Any
    template_id: uuid.UUID | None


def node_content(config: dict[str, Any]) -> NodeContent:
    """An email node's config (camelCase ``bodyDoc``/``templateId``, snake_case
    accepted too) as the arguments of :func:`preview_email` / :func:`queue_test_email`.

    >>> node_content({"subject": "Hi", "bodyDoc": {"type": "doc"}}).body_doc
    {'type': 'doc'}
    """
    if not isinstance(config, dict):
        raise Invalid("config: must be an object")
    body = config.get("bodyDoc", config.get("body_doc"))
    if body is None:
        raise Invalid("config.bodyDoc: the email has no body")
    raw_template = config.get("templateId", config.get("template_id"))
    try:
        template_id = uuid.UUID(str(raw_template)) if raw_template else None
    except ValueError as exc:
        raise Invalid("config.templateId: not a template id") from exc
    subject = config.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        raise Invalid("config.subject: must not be empty")
    preview = config.get("preview")
    return NodeContent(subject, preview if isinstance(preview, str) else None, body, template_id)
