"""What a sequence is doing: enrolments by state, per-node counts (running at
the node now; emails sent, opened and clicked from it), 24-hour tallies and
the latest enrolments.

>>> activity(session, sequence)["counts"]["active"]     # doctest: +SKIP
12
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from letter.clock import utcnow
from letter.contacts.models import Contact
from letter.delivery.models import Message, MessageState
from letter.sequences.models import (
    RUNNING,
    Enrollment,
    EnrollmentMessage,
    EnrollmentState,
    Sequence,
    SequenceVersion,
)

__all__ = ["activity"]

LATEST = 20
_SENT = (MessageState.SENT, MessageState.DELIVERED, MessageState.OPENED,
         MessageState.CLICKED, MessageState.COMPLAINED)
_OPENED = (MessageState.OPENED, MessageState.CLICKED)


def _scope(sequence: Sequence) -> tuple[Any, ...]:
    return (Enrollment.project_id == sequence.project_id,
            Enrollment.sequence_id == sequence.id)


def activity(session: Session, sequence: Sequence, now: datetime | None = None
             ) -> dict[str, Any]:
    now = now or utcnow()
    since = now - timedelta(hours=24)
    counts = {state.value: 0 for state in EnrollmentState}
    for state, n in session.execute(select(Enrollment.state, func.count())
                                    .where(*_scope(sequence)).group_by(Enrollment.state)):
        counts[state] = n
    return {"counts": counts, "nodes": _nodes(session, sequence),
            "last_24h": _tallies(session, sequence, since),
            "enrollments": _latest(session, sequence)}


def _nodes(session: Session, sequence: Sequence) -> list[dict[str, Any]]:
    nodes: dict[str, dict[str, int]] = {}

    def node(node_id: str) -> dict[str, int]:
        return nodes.setdefault(node_id, {"current": 0, "sent": 0, "opened": 0, "clicked": 0})

    for node_id, n in session.execute(
            select(Enrollment.node_id, func.count()).where(
                *_scope(sequence), Enrollment.state.in_(RUNNING)).group_by(Enrollment.node_id)):
        node(node_id)["current"] = n
    for node_id, state, n in session.execute(
            select(EnrollmentMessage.node_id, Message.state, func.count())
            .join(Message, Message.id == EnrollmentMessage.message_id)
            .where(EnrollmentMessage.project_id == sequence.project_id,
                   EnrollmentMessage.sequence_id == sequence.id)
            .group_by(EnrollmentMessage.node_id, Message.state)):
        counts = node(node_id)
        counts["sent"] += n if state in _SENT else 0
        counts["opened"] += n if state in _OPENED else 0
        counts["clicked"] += n if state == MessageState.CLICKED else 0
    return [{"node_id": k, **v} for k, v in sorted(nodes.items())]


def _tallies(session: Session, sequence: Sequence, since: datetime) -> dict[str, int]:
    enrolled = session.scalar(select(func.count()).where(
        *_scope(sequence), Enrollment.created_at >= since)) or 0
    tallies = {"enrolled": enrolled, "completed": 0, "exited": 0, "failed": 0}
    for state, n in session.execute(
            select(Enrollment.state, func.count()).where(
                *_scope(sequence), Enrollment.finished_at >= since).group_by(Enrollment.state)):
        tallies[state] = n
    tallies["emails_sent"] = session.scalar(select(func.count()).select_from(Message).where(
        Message.project_id == sequence.project_id, Message.sequence_id == sequence.id,
        Message.kind == "bulk", Message.sent_at >= since)) or 0
    return tallies


def _latest(session: Session, sequence: Sequence) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Enrollment, Contact.external_id, Contact.email, SequenceVersion.version_number)
        .join(Contact, Contact.id == Enrollment.contact_id)
        .join(SequenceVersion, SequenceVersion.id == Enrollment.version_id)
        .where(*_scope(sequence))
        .order_by(Enrollment.created_at.desc(), Enrollment.id.desc()).limit(LATEST))
    return [{"id": e.id, "contact_id": e.contact_id, "external_id": external_id,
             "email": email, "state": e.state, "node_id": e.node_id,
             "version_number": number, "reason": e.reason, "next_run_at": e.next_run_at,
             "created_at": e.created_at, "updated_at": e.updated_at,
             "finished_at": e.finished_at}
            for e, external_id, email, number in rows]
