"""The outbox :class:`~letter.delivery.store.Store` over SQLAlchemy: three
short transactions per batch (claim, load, record), none held while the drain
renders and talks SMTP.

- **claim**: due ``queued`` messages (transactional, test and system first)
  and ``sending`` ones whose lease expired become ``sending`` under this
  worker's lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's
  ``BEGIN IMMEDIATE`` serialises claimers).
- **load**: messages, contacts, accounts, projects, templates, senders, and
  how many messages each project sent today (for ``daily_send_cap``: the
  ``send_days`` row of the project's local date, kept by **record**).
- **record**: states, history and contact events written with a few
  ``executemany`` statements (Core, not the ORM unit of work: the hot path),
  and the per-broadcast counters of the messages that settled.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from letter.audience.topics import not_subscribed
from letter.broadcasts.models import Broadcast
from letter.contacts.models import Account, Contact, Event
from letter.db.engine import Database
from letter.delivery.counters import BroadcastDeltas, bump_many, count_sent_days, sent_on
from letter.delivery.models import Message, MessageEvent, MessageState
from letter.delivery.sender import sender_for
from letter.delivery.store import AccountRow, Batch, ContactRow, MessageRow, Settled
from letter.ids import uuid7
from letter.projects.models import Project
from letter.templates.models import Template

__all__ = ["SqlStore"]

_MESSAGES = cast(Table, Message.__table__)
_CONTACTS = cast(Table, Contact.__table__)
_HISTORY = cast(Table, MessageEvent.__table__)
_EVENTS = cast(Table, Event.__table__)
_SENT = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("_id"))
    .values(state=MessageState.SENT, sent_at=bindparam("_at"),
            provider_message_id=bindparam("_provider"), to_email=bindparam("_to"),
            reason=None, lease_owner=None, lease_expires_at=None, updated_at=bindparam("_now"))
)


def _broadcasts(session: Session, messages: list[MessageRow]
                ) -> tuple[dict[uuid.UUID, uuid.UUID], set[uuid.UUID], dict[uuid.UUID, Any]]:
    """The topics and bodies of the batch's broadcasts, and the messages whose
    contact is no longer subscribed to the topic (a query for the broadcasts,
    one more when they have topics)."""
    broadcast_ids = {m.broadcast_id for m in messages if m.broadcast_id}
    if not broadcast_ids:
        return {}, set(), {}
    topics: dict[uuid.UUID, uuid.UUID] = {}
    bodies: dict[uuid.UUID, Any] = {}
    for broadcast_id, topic_id, body in session.execute(
            select(Broadcast.id, Broadcast.topic_id, Broadcast.body_doc)
            .where(Broadcast.id.in_(broadcast_ids))):
        bodies[broadcast_id] = body
        if topic_id is not None:
            topics[broadcast_id] = topic_id
    keyed = {m.id: (m.project_id, topics[m.broadcast_id], m.contact_id) for m in messages
             if m.broadcast_id in topics and m.contact_id and m.project_id}
    if not keyed:
        return topics, set(), bodies
    left = not_subscribed(session, set(keyed.values()))
    return topics, {mid for mid, key in keyed.items() if key in left}, bodies


class SqlStore:
    def __init__(self, db: Database, sending_domain: str) -> None:
        self.db = db
        self.sending_domain = sending_domain

    def claim(self, owner: str, limit: int, now: datetime, lease: float) -> list[uuid.UUID]:
        with self.db.session() as session:
            expired = (select(Message.id)
                       .where(Message.state == MessageState.SENDING,
                              Message.lease_expires_at < now)
                       .order_by(Message.priority, Message.lease_expires_at).limit(limit)
                       .with_for_update(skip_locked=True))
            ids = list(session.scalars(expired))
            if len(ids) < limit:
                due = (select(Message.id)
                       .where(Message.state == MessageState.QUEUED,
                              Message.next_attempt_at <= now)
                       .order_by(Message.priority, Message.next_attempt_at, Message.id)
                       .limit(limit - len(ids))
                       .with_for_update(skip_locked=True))
                ids += list(session.scalars(due))
            if ids:
                session.execute(
                    update(Message).where(Message.id.in_(ids)).values(
                        state=MessageState.SENDING, lease_owner=owner,
                        lease_expires_at=now + timedelta(seconds=lease),
                        attempts=Message.attempts + 1,
                    ).execution_options(synchronize_session=False)
                )
        return ids

    def load(self, ids: list[uuid.UUID], owner: str, now: datetime) -> Batch:
        with self.db.session() as session:
            return self._load(session, ids, owner, now)

    def _load(self, session: Session, ids: list[uuid.UUID], owner: str,
              now: datetime) -> Batch:
        # Plain rows for the two big reads: the ORM's identity map is overhead
        # this read-only, per-batch path does not need.
        messages = cast(list[MessageRow], list(session.execute(
            select(_MESSAGES).where(_MESSAGES.c.id.in_(ids))
            .order_by(_MESSAGES.c.priority, _MESSAGES.c.created_at))))
        contact_ids = {m.contact_id for m in messages if m.contact_id}
        contacts = cast(dict[uuid.UUID, ContactRow], {c.id: c for c in session.execute(
            select(_CONTACTS).where(_CONTACTS.c.id.in_(contact_ids)))} if contact_ids else {})
        account_ids = {c.account_id for c in contacts.values() if c.account_id}
        accounts = {a.id: a for a in session.scalars(select(Account).where(
            Account.id.in_(account_ids)))} if account_ids else {}
        project_ids = {m.project_id for m in messages if m.project_id}
        projects = {p.id: p for p in session.scalars(select(Project).where(
            Project.id.in_(project_ids)))} if project_ids else {}
        templates = list(session.scalars(
            select(Template).where(Template.project_id.in_(project_ids)))) if project_ids else []
        senders = {p.id: sender_for(session, p, self.sending_domain) for p in projects.values()}
        sent_today = {p.id: self._sent_today(session, p, owner, now) for p in projects.values()}
        topics, left_topic, bodies = _broadcasts(session, messages)
        session.expunge_all()
        return Batch(
            messages=messages, contacts=contacts,
            accounts=cast(dict[uuid.UUID, AccountRow], accounts),
            projects=dict(projects), designs={t.id: t.design for t in templates},
            defaults={t.project_id: t.design for t in templates if t.is_default},
            senders=senders, sent_today=sent_today, topics=topics, left_topic=left_topic,
            bodies=bodies,
        )

    @staticmethod
    def _sent_today(session: Session, project: Project, owner: str, now: datetime) -> int:
        """Accepted today on the project's calendar, plus what other workers
        hold in flight (they may send it before this batch records)."""
        today = _local_day(now, project.timezone)
        in_flight_elsewhere = session.scalar(
            select(func.count()).select_from(Message).where(
                Message.state == MessageState.SENDING, Message.lease_owner != owner,
                Message.project_id == project.id))
        return sent_on(session, project.id, today) + (in_flight_elsewhere or 0)

    def record(self, batch: Batch, settled: dict[uuid.UUID, Settled], now: datetime,
               accepted_at: datetime) -> None:
        by_id = {m.id: m for m in batch.messages}
        sent: list[dict[str, Any]] = []
        others: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        counters: BroadcastDeltas = {}
        days: Counter[tuple[uuid.UUID, date]] = Counter()
        for mid, outcome in settled.items():
            message = by_id[mid]
            if message.broadcast_id and outcome.state != MessageState.QUEUED:
                assert message.project_id is not None
                key = (message.project_id, message.broadcast_id)
                counters.setdefault(key, Counter()).update({"queued": -1, outcome.state: 1})
            if outcome.state == MessageState.SENT:
                if message.project_id is not None:
                    zone = batch.projects[message.project_id].timezone
                    days[message.project_id, _local_day(accepted_at, zone)] += 1
                sent.append({"_id": mid, "_at": accepted_at, "_now": now,
                             "_to": outcome.recipient or message.to_email,
                             "_provider": outcome.provider_id})
            else:
                row: dict[str, Any] = {
                    "id": mid, "state": outcome.state, "reason": outcome.detail,
                    "lease_owner": None, "lease_expires_at": None, "updated_at": now}
                if outcome.next_attempt_at is not None:
                    row["next_attempt_at"] = outcome.next_attempt_at
                if not outcome.counts_attempt:
                    row["attempts"] = message.attempts - 1
                others.append(row)
            history.append({"id": uuid7(), "project_id": message.project_id,
                            "message_id": mid, "state": _history_state(outcome),
                            "detail": outcome.detail, "created_at": now})
            if outcome.state in (MessageState.SENT, MessageState.SUPPRESSED) \
                    and message.contact_id:
                events.append(_event_row(message, outcome.state, now))
        with self.db.session() as session:
            if sent:
                session.execute(_SENT, sent)
            if others:
                session.execute(update(Message), others)
            if history:
                session.execute(_HISTORY.insert(), history)
            if events:
                session.execute(_EVENTS.insert(), events)
            bump_many(session, counters)
            count_sent_days(session, days)


def _local_day(at: datetime, timezone: str) -> date:
    """The date on the project's calendar: the day ``send_days`` counts under."""
    return at.astimezone(ZoneInfo(timezone)).date()


def _history_state(outcome: Settled) -> str:
    # The history says why a message went back to the queue.
    if outcome.state == MessageState.QUEUED:
        return "retry" if outcome.counts_attempt else "deferred"
    return outcome.state


def _event_row(message: MessageRow, state: str, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid7(), "project_id": message.project_id, "contact_id": message.contact_id,
        "name": "Email Sent" if state == MessageState.SENT else "Email Suppressed",
        "occurred_at": now, "created_at": now,
        "properties": {
            "message_id": str(message.id), "subject": message.subject, "kind": message.kind,
            "broadcast_id": str(message.broadcast_id) if message.broadcast_id else None,
            "sequence_id": str(message.sequence_id) if message.sequence_id else None,
        },
    }
