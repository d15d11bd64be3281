"""The outbox drain: claim due messages, decide each one's fate, render, sign,
send, record — against a :class:`~letter.delivery.store.Store` and a
:class:`~letter.delivery.transport.Transport`, nothing else.

A crash between claim and record leaves the batch ``sending``; once its lease
expires another worker claims it again, so in-flight messages are sent at most
twice and none is lost.

>>> drain(SqlStore(db, "letter.localhost"), FileTransport(outbox),
...       DrainConfig.from_settings(settings))                  # doctest: +SKIP
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
from zoneinfo import ZoneInfo

from letter.clock import utcnow
from letter.delivery.context import render_context
from letter.delivery.links import Links, links_for
from letter.delivery.mime import SIGNED_HEADERS, OutgoingEmail, build_message
from letter.delivery.models import MessageKind, MessageState
from letter.delivery.store import Batch, ContactRow, MessageRow, Settled, Store
from letter.delivery.system import render_system
from letter.delivery.transport import SendResult, Transport
from letter.errors import Invalid
from letter.settings import Settings
from letter.templates.design import PRESETS
from letter.templates.render import compile_content

__all__ = ["WORKER_ID", "DrainConfig", "drain", "next_local_midnight"]

WORKER_ID = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
MAX_ATTEMPTS = 8
SEND_CHUNK = 50
# Chunks go to the transport from these threads while the next chunk renders
# (SMTP time is spent waiting on the network, so it overlaps well).
_senders = ThreadPoolExecutor(max_workers=4, thread_name_prefix="letter-outbox")


@dataclass(frozen=True)
class DrainConfig:
    batch_size: int
    lease_seconds: float
    secret_key: str
    public_url: str
    sending_domain: str

    @classmethod
    def from_settings(cls, settings: Settings) -> DrainConfig:
        return cls(settings.outbox_batch_size, settings.outbox_lease_seconds,
                   settings.secret_key or "", settings.public_url, settings.sending_domain)


def next_local_midnight(now: datetime, timezone: str) -> datetime:
    local = now.astimezone(ZoneInfo(timezone))
    tomorrow = (local + timedelta(days=1)).date()
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day,
                    tzinfo=ZoneInfo(timezone)).astimezone(now.tzinfo)


@dataclass
class Plan:
    settled: dict[uuid.UUID, Settled] = field(default_factory=dict)


def _recipient(message: MessageRow, contact: ContactRow | None) -> str:
    """The contact's address as it is now (it may have changed since queueing);
    test and system emails go where they were addressed."""
    addressed = message.kind in (MessageKind.TEST, MessageKind.SYSTEM)
    if not addressed and contact is not None and contact.email:
        return contact.email
    return message.to_email


def _deliverable(address: str) -> bool:
    return "@" in address and not any(c in address for c in " \r\n<>,;")


def _suppressed(message: MessageRow, contact: ContactRow | None) -> str | None:
    if contact is None or contact.unsubscribed_at is None:
        return None
    if message.kind in (MessageKind.TEST, MessageKind.SYSTEM):
        return None
    reason = contact.unsubscribe_reason or "unsubscribed"
    if message.kind == MessageKind.TRANSACTIONAL and reason not in ("bounce", "complaint"):
        return None  # a marketing unsubscribe does not stop a receipt or a password reset
    return reason


def _render(batch: Batch, message: MessageRow, links: Links,
            config: DrainConfig) -> OutgoingEmail:
    if message.kind == MessageKind.SYSTEM:
        return render_system(message, config.secret_key, config.public_url,
                             config.sending_domain)
    assert message.project_id is not None  # only system emails belong to no project
    project = batch.projects[message.project_id]
    contact = batch.contacts.get(message.contact_id) if message.contact_id else None
    account = batch.accounts.get(contact.account_id) if contact and contact.account_id else None
    design = (batch.designs.get(message.template_id) if message.template_id else None) \
        or batch.defaults.get(message.project_id) or PRESETS["branded"]
    content = compile_content(design, subject=message.subject, preview=message.preview,
                              body_doc=batch.body_of(message))
    topic = batch.topics.get(message.broadcast_id) if message.broadcast_id else None
    unsubscribe = links.unsubscribe_url(message.id, message.contact_id, topic)
    rendered = content.render(render_context(project, contact, account, message.data or {},
                                             unsubscribe, email=message.to_email))
    html = rendered.html if message.kind == MessageKind.TEST \
        else links.track(rendered.html, message.id)
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


def _over_cap(batch: Batch, message: MessageRow, budget: dict[uuid.UUID, int]) -> bool:
    if message.kind != MessageKind.BULK or message.project_id is None:
        return False
    return budget[message.project_id] >= batch.projects[message.project_id].daily_send_cap


def _plan(batch: Batch, links: Links, config: DrainConfig, now: datetime,
          emit: Callable[[list[OutgoingEmail]], None]) -> Plan:
    """Decide each message's fate and render the ones to send, handing them to
    ``emit`` in chunks so sending overlaps rendering."""
    plan = Plan()
    pending: list[OutgoingEmail] = []
    budget = dict(batch.sent_today)
    for message in batch.messages:
        contact = batch.contacts.get(message.contact_id) if message.contact_id else None
        if not _deliverable(_recipient(message, contact)):
            plan.settled[message.id] = Settled(MessageState.FAILED, "invalid recipient address")
            continue
        reason = _suppressed(message, contact) or \
            ("not_in_topic" if message.id in batch.left_topic else None)
        if reason is not None:
            plan.settled[message.id] = Settled(MessageState.SUPPRESSED, reason)
            continue
        if _over_cap(batch, message, budget):
            assert message.project_id is not None
            tomorrow = next_local_midnight(now, batch.projects[message.project_id].timezone)
            plan.settled[message.id] = Settled(MessageState.QUEUED, "daily send cap reached",
                                               tomorrow, counts_attempt=False)
            continue
        try:
            pending.append(_render(batch, message, links, config))
        except Invalid as exc:
            plan.settled[message.id] = Settled(MessageState.FAILED, exc.message)
            continue
        if message.project_id is not None:
            budget[message.project_id] += 1
        if len(pending) >= SEND_CHUNK:
            emit(pending)
            pending = []
    if pending:
        emit(pending)
    return plan


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def _outcome(message: MessageRow, result: SendResult, recipient: str, now: datetime) -> Settled:
    if result.ok:
        return Settled(MessageState.SENT, provider_id=result.detail[:255] or None,
                       recipient=recipient)
    if result.permanent or message.attempts >= MAX_ATTEMPTS:
        return Settled(MessageState.FAILED, result.detail)
    return Settled(MessageState.QUEUED, result.detail, now + _backoff(message.attempts))


def _sign_and_send(transport: Transport, chunk: list[OutgoingEmail]) -> list[SendResult]:
    """DKIM-sign a chunk and hand it to the transport. Runs on a sender thread so
    the RSA work overlaps the rendering of the next chunk."""
    signed = [
        replace(o, data=o.signer.sign(o.data, SIGNED_HEADERS), signer=None) if o.signer else o
        for o in chunk
    ]
    return transport.send(signed)


def drain(store: Store, transport: Transport, config: DrainConfig, *, owner: str = WORKER_ID,
          now: datetime | None = None, limit: int | None = None) -> int:
    """Send one batch; returns how many messages it handled (0 when idle)."""
    started = utcnow()
    now = now or started
    ids = store.claim(owner, limit or config.batch_size, now, config.lease_seconds)
    if not ids:
        return 0
    batch = store.load(ids, owner, now)
    links = links_for(config.secret_key, config.public_url)
    sending: list[tuple[list[OutgoingEmail], Future[list[SendResult]]]] = []

    def emit(chunk: list[OutgoingEmail]) -> None:
        sending.append((chunk, _senders.submit(_sign_and_send, transport, chunk)))

    plan = _plan(batch, links, config, now, emit)
    by_id = {m.id: m for m in batch.messages}
    for chunk, future in sending:
        for outgoing, result in zip(chunk, future.result(), strict=True):
            mid = uuid.UUID(outgoing.ref)
            plan.settled[mid] = _outcome(by_id[mid], result, outgoing.recipient, now)
    # sent_at is when the relay accepted (on the caller's clock when ``now`` is given).
    store.record(batch, plan.settled, now, accepted_at=now + (utcnow() - started))
    return len(ids)
