"""The engine: claim due enrolments and run their steps, in one transaction.

``run_due`` takes up to ``limit`` enrolments whose ``next_run_at`` has come
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
serialises claimers), advances each through its nodes until it parks in a
wait or ends, and writes every enrolment back with one ``executemany``. The
claim, the steps and the outbox rows commit together: a worker killed
mid-batch leaves nothing behind, and the next pass runs the batch again.

- ``trigger`` moves on; ``exit`` ends the enrolment (``exited``); a node
  with no outgoing edge completes it.
- ``wait`` parks until its duration has passed.
- ``wait_event`` parks until its timeout; ingestion marks it ``received``
  (and due now) when the awaited event comes; the leg taken is decided here,
  under the row's lock, so a race resolves exactly once.
- ``branch`` evaluates its FilterSpec on the contact now.
- ``email`` waits for its ``sendWindow`` if it has one, then queues an
  outbox message (``kind="bulk"``) whose ``enrollment_messages`` row is
  unique per (enrolment, node): a re-run step never sends twice. A
  suppressed contact's message is recorded ``suppressed`` by the outbox and
  the flow continues.

>>> with db.session() as session:                       # doctest: +SKIP
...     run_due(session, now=utcnow(), sending_domain="letter.localhost")
42
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from letter.contacts.models import Account, Contact, Event
from letter.delivery.service import queue_message
from letter.errors import Invalid
from letter.projects.models import Project
from letter.segments.evaluate import ContactView, event_names, matches
from letter.segments.service import audience_facts
from letter.sequences.flows import Flow, flow_for
from letter.sequences.graph import duration_of
from letter.sequences.models import (
    RUNNING,
    Enrollment,
    EnrollmentMessage,
    EnrollmentState,
)
from letter.sequences.window import next_allowed

__all__ = ["BATCH", "run_due"]

BATCH = 500
MAX_STEPS = 1000  # a published graph has no cycle; this only guards the loop
_T = cast(Table, Enrollment.__table__)
_C = cast(Table, Contact.__table__)
_WRITE = (update(_T).where(_T.c.id == bindparam("_id")).values(
    node_id=bindparam("_node"), state=bindparam("_state"), next_run_at=bindparam("_next"),
    waiting_since=bindparam("_since"), resume=None, reason=bindparam("_reason"),
    finished_at=bindparam("_finished"), updated_at=bindparam("_now")))


@dataclass
class Park:
    """Where an enrolment stops after this pass."""

    node_id: str
    state: str
    next_run_at: datetime | None = None
    waiting_since: datetime | None = None
    reason: str | None = None


@dataclass
class Batch:
    session: Session
    now: datetime
    sending_domain: str
    contacts: dict[uuid.UUID, Any] = field(default_factory=dict)
    accounts: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    transitions: int = 0


def claim(session: Session, now: datetime, limit: int) -> list[Any]:
    stmt = (select(_T.c.id, _T.c.project_id, _T.c.sequence_id, _T.c.version_id,
                   _T.c.contact_id, _T.c.node_id, _T.c.state, _T.c.resume, _T.c.event,
                   _T.c.waiting_since)
            .where(_T.c.state.in_(RUNNING), _T.c.next_run_at <= now)
            .order_by(_T.c.next_run_at).limit(limit).with_for_update(skip_locked=True))
    return list(session.execute(stmt))


def _load_contacts(batch: Batch, rows: list[Any]) -> None:
    ids = {r.contact_id for r in rows}
    found = {c.id: c for c in batch.session.execute(
        select(_C.c.id, _C.c.project_id, _C.c.external_id, _C.c.email, _C.c.traits,
               _C.c.timezone, _C.c.account_id, _C.c.created_at, _C.c.unsubscribed_at)
        .where(_C.c.id.in_(ids)))}
    batch.contacts = found
    account_ids = {c.account_id for c in found.values() if c.account_id}
    if account_ids:
        batch.accounts = {a.id: a.traits or {} for a in batch.session.execute(
            select(Account.id, Account.traits).where(Account.id.in_(account_ids)))}


def run_due(session: Session, *, now: datetime, sending_domain: str,
            limit: int = BATCH) -> int:
    """Run every due enrolment (up to ``limit``); returns the transitions made."""
    rows = claim(session, now, limit)
    if not rows:
        return 0
    batch = Batch(session, now, sending_domain)
    _load_contacts(batch, rows)
    writes = []
    for row in rows:
        park = _advance(batch, row, flow_for(session, row.version_id))
        finished = now if park.state not in RUNNING else None
        writes.append({"_id": row.id, "_node": park.node_id, "_state": park.state,
                       "_next": park.next_run_at, "_since": park.waiting_since,
                       "_reason": park.reason, "_finished": finished, "_now": now})
    session.execute(_WRITE, writes)
    return batch.transitions


def _advance(batch: Batch, row: Any, flow: Flow) -> Park:
    node_id: str | None = row.node_id
    resuming = row.state == EnrollmentState.WAITING
    for _ in range(MAX_STEPS):
        contact = batch.contacts.get(row.contact_id)
        node = flow.graph.nodes.get(node_id or "")
        if node is None or contact is None:
            return Park(row.node_id, EnrollmentState.FAILED, reason="node or contact missing")
        batch.transitions += 1
        result = _step(batch, row, flow, node.id, node.type, node.config, contact, resuming)
        if isinstance(result, Park):
            return result
        resuming = False
        leg, = result
        node_id = flow.graph.next_of(node.id, leg)
        if node_id is None:
            return Park(node.id, EnrollmentState.COMPLETED)
    return Park(row.node_id, EnrollmentState.FAILED, reason="too many steps")


def _step(batch: Batch, row: Any, flow: Flow, node_id: str, kind: str,
          config: dict[str, Any], contact: Any, resuming: bool) -> Park | tuple[str | None]:
    """One node: a Park to stop here, or the leg to follow."""
    now = batch.now
    if kind == "exit":
        return Park(node_id, EnrollmentState.EXITED, reason=f"exit node {node_id}")
    if kind == "wait":
        if resuming:
            return (None,)
        return Park(node_id, EnrollmentState.WAITING, now + duration_of(config["duration"]), now)
    if kind == "wait_event":
        if resuming:
            return ("received" if row.resume == "received" else "timeout",)
        return Park(node_id, EnrollmentState.WAITING, now + duration_of(config["timeout"]), now)
    if kind == "branch":
        return ("yes" if matches(flow.conditions[node_id], _view(batch, contact,
                                                                  flow.conditions[node_id]),
                                 now) else "no",)
    if kind == "email":
        window = config.get("sendWindow")
        if window:
            opens = next_allowed(now, window, _timezone(batch, contact))
            if opens > now:
                return Park(node_id, EnrollmentState.WAITING, opens, now)
        failure = _send(batch, row, flow, node_id, config)
        if failure:
            return Park(node_id, EnrollmentState.FAILED, reason=failure)
    return (None,)


def _view(batch: Batch, contact: Any, spec: Any) -> ContactView:
    names = event_names(spec)
    events: list[tuple[str, datetime]] = []
    if names:
        events = [(n, at) for n, at in batch.session.execute(
            select(Event.name, Event.occurred_at).where(
                Event.project_id == contact.project_id, Event.contact_id == contact.id,
                Event.name.in_(names)))]
    lists, choices, opt_in = audience_facts(batch.session, contact.project_id, contact.id, spec)
    return ContactView(traits=contact.traits or {}, email=contact.email,
                       external_id=contact.external_id, created_at=contact.created_at,
                       unsubscribed_at=contact.unsubscribed_at,
                       account_traits=batch.accounts.get(contact.account_id)
                       if contact.account_id else None, events=events,
                       lists=lists, topic_choices=choices, opt_in_topics=opt_in)


def _timezone(batch: Batch, contact: Any) -> str:
    if contact.timezone:
        return str(contact.timezone)
    project = batch.session.get(Project, contact.project_id)
    return project.timezone if project else "UTC"


def _send(batch: Batch, row: Any, flow: Flow, node_id: str, config: dict[str, Any]
          ) -> str | None:
    """Queue the node's email once per (enrolment, node); the failure reason
    when the content cannot be sent."""
    session = batch.session
    project = session.get(Project, row.project_id)
    contact = session.get(Contact, row.contact_id)
    assert project is not None and contact is not None
    try:
        with session.begin_nested():
            message_id = None
            if contact.email:
                template = config.get("templateId")
                message = queue_message(
                    session, project, contact, kind="bulk", subject=config.get("subject", ""),
                    preview=config.get("preview"), body_doc=config.get("bodyDoc"),
                    template_id=uuid.UUID(template) if template else None,
                    data={"event": row.event or {}, "sequence_node_id": node_id,
                          "enrollment_id": str(row.id)},
                    sending_domain=batch.sending_domain, sequence_id=flow.sequence_id)
                message_id = message.id
            session.add(EnrollmentMessage(project_id=row.project_id,
                                          sequence_id=flow.sequence_id, enrollment_id=row.id,
                                          node_id=node_id, message_id=message_id,
                                          created_at=batch.now))
            session.flush()
    except IntegrityError:
        return None  # this step queued its message on an earlier run
    except Invalid as exc:
        return f"email {node_id}: {exc.message}"
    return None
