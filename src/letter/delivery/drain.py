"""The outbox drain: claim due messages under a lease, render, sign, send,
record. Three short transactions per batch, none held while rendering or
talking SMTP:

1. **claim**: due ``queued`` messages (transactional and test first) and
   ``sending`` ones whose lease expired (a crashed worker's in-flight batch)
   become ``sending`` with this worker's lease (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises claimers).
2. **load**: messages, contacts, accounts, projects, templates, senders, and
   how many messages each project sent today (for ``daily_send_cap``).
3. **finish** (after the transport answered): states, history and contact
   events written in bulk.

A crash between 1 and 3 leaves the batch ``sending``; once the lease expires
another worker claims it again, so in-flight messages are sent at most twice
and none is lost.

>>> drain(runtime, owner="worker-1")   # doctest: +SKIP
200
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from letter.clock import utcnow
from letter.contacts.models import Account, Contact, Event
from letter.db.engine import Database
from letter.delivery.links import Links, links_for
from letter.delivery.mime import SIGNED_HEADERS, OutgoingEmail, build_message
from letter.delivery.models import Message, MessageEvent
from letter.delivery.sender import Sender, sender_for
from letter.delivery.service import render_context
from letter.delivery.transport import SendResult, Transport
from letter.errors import Invalid
from letter.ids import uuid7
from letter.projects.models import Project
from letter.runtime import Runtime
from letter.templates.design import PRESETS
from letter.templates.models import Template
from letter.templates.render import compile_content

__all__ = ["WORKER_ID", "claim", "drain", "next_local_midnight"]

_MESSAGES = cast(Table, Message.__table__)

WORKER_ID = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
MAX_ATTEMPTS = 8
SEND_CHUNK = 50
# Chunks go to the transport from these threads while the next chunk renders
# (SMTP time is spent waiting on the network, so it overlaps well).
_senders = ThreadPoolExecutor(max_workers=4, thread_name_prefix="letter-outbox")


def claim(db: Database, owner: str, limit: int, now: datetime, lease: float) -> list[uuid.UUID]:
    with db.session() as session:
        expired = (select(Message.id)
                   .where(Message.state == "sending", Message.lease_expires_at < now)
                   .order_by(Message.priority, Message.lease_expires_at).limit(limit)
                   .with_for_update(skip_locked=True))
        ids = list(session.scalars(expired))
        if len(ids) < limit:
            due = (select(Message.id)
                   .where(Message.state == "queued", Message.next_attempt_at <= now)
                   .order_by(Message.priority, Message.next_attempt_at, Message.id)
                   .limit(limit - len(ids))
                   .with_for_update(skip_locked=True))
            ids += list(session.scalars(due))
        if ids:
            session.execute(
                update(Message).where(Message.id.in_(ids)).values(
                    state="sending", lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease),
                    attempts=Message.attempts + 1,
                ).execution_options(synchronize_session=False)
            )
    return ids


def next_local_midnight(now: datetime, timezone: str) -> datetime:
    local = now.astimezone(ZoneInfo(timezone))
    tomorrow = (local + timedelta(days=1)).date()
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day,
                    tzinfo=ZoneInfo(timezone)).astimezone(now.tzinfo)


def _local_midnight(now: datetime, timezone: str) -> datetime:
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


@dataclass
class Batch:
    messages: list[Message]
    contacts: dict[uuid.UUID, Contact]
    accounts: dict[uuid.UUID, Account]
    projects: dict[uuid.UUID, Project]
    designs: dict[uuid.UUID, dict[str, Any]]
    defaults: dict[uuid.UUID, dict[str, Any]]
    senders: dict[uuid.UUID, Sender]
    sent_today: dict[uuid.UUID, int]


def _load(session: Session, ids: list[uuid.UUID], owner: str, now: datetime,
          sending_domain: str) -> Batch:
    # Plain rows (attribute access like the models) for the two big reads: the
    # ORM's identity map is overhead this read-only, per-batch path does not need.
    messages = cast(list[Message], list(session.execute(
        select(_MESSAGES).where(_MESSAGES.c.id.in_(ids))
        .order_by(_MESSAGES.c.priority, _MESSAGES.c.created_at))))
    contact_ids = {m.contact_id for m in messages if m.contact_id}
    contacts = cast(dict[uuid.UUID, Contact], {c.id: c for c in session.execute(
        select(_CONTACTS).where(_CONTACTS.c.id.in_(contact_ids)))} if contact_ids else {})
    account_ids = {c.account_id for c in contacts.values() if c.account_id}
    accounts = {a.id: a for a in session.scalars(select(Account).where(
        Account.id.in_(account_ids)))} if account_ids else {}
    project_ids = {m.project_id for m in messages}
    projects = {p.id: p for p in session.scalars(select(Project).where(
        Project.id.in_(project_ids)))}
    templates = list(session.scalars(select(Template).where(Template.project_id.in_(project_ids))))
    designs = {t.id: t.design for t in templates}
    defaults = {t.project_id: t.design for t in templates if t.is_default}
    senders = {p.id: sender_for(session, p, sending_domain) for p in projects.values()}
    sent_today = {}
    for project in projects.values():
        midnight = _local_midnight(now, project.timezone)
        sent_today[project.id] = session.scalar(
            select(func.count()).select_from(Message).where(
                Message.project_id == project.id,
                ((Message.sent_at >= midnight) |
                 ((Message.state == "sending") & (Message.lease_owner != owner))))
        ) or 0
    session.expunge_all()
    return Batch(messages, contacts, accounts, projects, designs, defaults, senders, sent_today)


@dataclass
class Plan:
    # message id -> (state, detail, next_attempt_at)
    settled: dict[uuid.UUID, tuple[str, str | None, datetime | None]] = field(default_factory=dict)


def _recipient(message: Message, contact: Contact | None) -> str:
    """The contact's address as it is now (it may have changed since queueing);
    test emails go where they were addressed."""
    if message.kind != "test" and contact is not None and contact.email:
        return contact.email
    return message.to_email


def _deliverable(address: str) -> bool:
    return "@" in address and not any(c in address for c in " \r\n<>,;")


def _suppressed(message: Message, contact: Contact | None) -> str | None:
    if contact is None or contact.unsubscribed_at is None or message.kind == "test":
        return None
    reason = contact.unsubscribe_reason or "unsubscribed"
    if message.kind == "transactional" and reason not in ("bounce", "complaint"):
        return None  # a marketing unsubscribe does not stop a receipt or a password reset
    return reason


def _render(batch: Batch, message: Message, links: Links) -> OutgoingEmail:
    project = batch.projects[message.project_id]
    contact = batch.contacts.get(message.contact_id) if message.contact_id else None
    account = batch.accounts.get(contact.account_id) if contact and contact.account_id else None
    design = (batch.designs.get(message.template_id) if message.template_id else None) \
        or batch.defaults.get(message.project_id) or PRESETS["branded"]
    content = compile_content(design, subject=message.subject, preview=message.preview,
                              body_doc=message.body_doc)
    unsubscribe = links.unsubscribe_url(message.id, message.contact_id)
    rendered = content.render(render_context(project, contact, account, message.data or {},
                                             unsubscribe, email=message.to_email))
    html = rendered.html if message.kind == "test" else links.track(rendered.html, message.id)
    sender = batch.senders[message.project_id]
    to = _recipient(message, contact)
    raw = build_message(
        sender.headers, to=to, subject=rendered.subject,
        message_id=message.message_id_header, unsubscribe_https=unsubscribe,
        unsubscribe_mailto=f"mailto:unsubscribe@{sender.domain}?subject=unsubscribe%20{message.id}",
        text=rendered.text, html=html,
        # Postmark echoes X-PM-Metadata-* in its webhooks; other relays ignore it.
        extra_headers={"X-PM-Metadata-letter_message_id": str(message.id)},
    )
    # Signed later, on the sending thread (see _sign_and_send).
    return OutgoingEmail(sender.headers.envelope_from, to, raw, str(message.id),
                         signer=sender.signer)


def _plan(batch: Batch, links: Links, now: datetime,
          emit: Callable[[list[OutgoingEmail]], None]) -> Plan:
    """Decide each message's fate and render the ones to send, handing them to
    ``emit`` in chunks so sending overlaps rendering."""
    plan = Plan()
    pending: list[OutgoingEmail] = []
    budget = dict(batch.sent_today)
    for message in batch.messages:
        contact = batch.contacts.get(message.contact_id) if message.contact_id else None
        project = batch.projects[message.project_id]
        if not _deliverable(_recipient(message, contact)):
            plan.settled[message.id] = ("failed", "invalid recipient address", None)
            continue
        reason = _suppressed(message, contact)
        if reason is not None:
            plan.settled[message.id] = ("suppressed", reason, None)
            continue
        if message.kind == "bulk" and budget[project.id] >= project.daily_send_cap:
            plan.settled[message.id] = (
                "deferred", "daily send cap reached", next_local_midnight(now, project.timezone))
            continue
        try:
            pending.append(_render(batch, message, links))
        except Invalid as exc:
            plan.settled[message.id] = ("failed", exc.message, None)
            continue
        budget[project.id] += 1
        if len(pending) >= SEND_CHUNK:
            emit(pending)
            pending = []
    if pending:
        emit(pending)
    return plan


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


_CONTACTS = cast(Table, Contact.__table__)
_HISTORY = cast(Table, MessageEvent.__table__)
_EVENTS = cast(Table, Event.__table__)
_SENT = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("_id"))
    .values(state="sent", sent_at=bindparam("_at"), provider_message_id=bindparam("_provider"),
            to_email=bindparam("_to"),
            reason=None, lease_owner=None, lease_expires_at=None, updated_at=bindparam("_now"))
)


def _event_row(message: Message, name: str, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid7(), "project_id": message.project_id, "contact_id": message.contact_id,
        "name": name, "occurred_at": now, "created_at": now,
        "properties": {
            "message_id": str(message.id), "subject": message.subject, "kind": message.kind,
            "broadcast_id": str(message.broadcast_id) if message.broadcast_id else None,
            "sequence_id": str(message.sequence_id) if message.sequence_id else None,
        },
    }


def _finish(session: Session, batch: Batch, plan: Plan, results: dict[uuid.UUID, Any],
            recipients: dict[uuid.UUID, str], now: datetime, accepted: datetime) -> None:
    """Write the batch's outcome with a few executemany statements (Core, not the
    ORM unit of work: this is the hot path)."""
    by_id = {m.id: m for m in batch.messages}
    sent: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for mid, result in results.items():
        message = by_id[mid]
        if result.ok:
            plan.settled[mid] = ("sent", None, None)
            sent.append({"_id": mid, "_at": accepted, "_now": now, "_to": recipients[mid],
                         "_provider": result.detail[:255] or None})
        elif result.permanent or message.attempts >= MAX_ATTEMPTS:
            plan.settled[mid] = ("failed", result.detail, None)
        else:
            plan.settled[mid] = ("retry", result.detail, now + _backoff(message.attempts))
    for mid, (state, detail, at) in plan.settled.items():
        message = by_id[mid]
        if state in ("deferred", "retry"):
            row = {"id": mid, "state": "queued", "next_attempt_at": at, "reason": detail,
                   "lease_owner": None, "lease_expires_at": None, "updated_at": now}
            if state == "deferred":
                row["attempts"] = message.attempts - 1  # waiting for tomorrow is no attempt
            others.append(row)
        elif state != "sent":
            others.append({"id": mid, "state": state, "reason": detail, "lease_owner": None,
                           "lease_expires_at": None, "updated_at": now})
        history.append({"id": uuid7(), "project_id": message.project_id, "message_id": mid,
                        "state": state, "detail": detail, "created_at": now})
        if state in ("sent", "suppressed") and message.contact_id:
            name = "Email Sent" if state == "sent" else "Email Suppressed"
            events.append(_event_row(message, name, now))
    if sent:
        session.execute(_SENT, sent)
    if others:
        session.execute(update(Message), others)
    if history:
        session.execute(_HISTORY.insert(), history)
    if events:
        session.execute(_EVENTS.insert(), events)


def _sign_and_send(transport: Transport, chunk: list[OutgoingEmail]) -> list[SendResult]:
    """DKIM-sign a chunk and hand it to the transport. Runs on a sender thread so
    the RSA work overlaps the rendering of the next chunk."""
    signed = [
        replace(o, data=o.signer.sign(o.data, SIGNED_HEADERS), signer=None) if o.signer else o
        for o in chunk
    ]
    return transport.send(signed)


def drain(runtime: Runtime, *, owner: str = WORKER_ID, now: datetime | None = None,
          limit: int | None = None) -> int:
    """Send one batch; returns how many messages it handled (0 when idle)."""
    started = utcnow()
    now = now or started
    settings = runtime.settings
    ids = claim(runtime.db, owner, limit or settings.outbox_batch_size, now,
                settings.outbox_lease_seconds)
    if not ids:
        return 0
    with runtime.db.session() as session:
        batch = _load(session, ids, owner, now, settings.sending_domain)
    links = links_for(settings.secret_key or "", settings.public_url)
    sending: list[tuple[list[OutgoingEmail], Future[list[SendResult]]]] = []

    def emit(chunk: list[OutgoingEmail]) -> None:
        sending.append((chunk, _senders.submit(_sign_and_send, runtime.transport, chunk)))

    plan = _plan(batch, links, now, emit)
    results, recipients = {}, {}
    for chunk, future in sending:
        for outgoing, result in zip(chunk, future.result(), strict=True):
            results[uuid.UUID(outgoing.ref)] = result
            recipients[uuid.UUID(outgoing.ref)] = outgoing.recipient
    # sent_at is when the relay accepted (on the caller's clock when ``now`` is given).
    accepted = now + (utcnow() - started)
    with runtime.db.session() as session:
        _finish(session, batch, plan, results, recipients, now, accepted)
    return len(ids)
