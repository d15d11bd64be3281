"""Preflight: the send checks without sending — subject and body present, the
audience resolves and someone in it can receive the email — and who is left
out, and why.

>>> report = preflight(session, broadcast)        # doctest: +SKIP
>>> report.matches, report.total, report.excluded["suppressed"]   # doctest: +SKIP
(142, 3500, 3)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.orm import Session

from letter.broadcasts.audience import audience_condition, topic_condition
from letter.broadcasts.models import Broadcast
from letter.clock import utcnow
from letter.contacts.models import Contact
from letter.errors import Invalid

__all__ = ["Excluded", "Preflight", "preflight", "require_sendable"]

SAMPLE = 10
HARD = ("bounce", "complaint")


@dataclass(frozen=True)
class Excluded:
    contact_id: uuid.UUID
    external_id: str | None
    email: str | None
    reason: str


@dataclass
class Preflight:
    matches: int
    total: int
    subject: str
    excluded: dict[str, int] = field(default_factory=dict)
    sample: list[Excluded] = field(default_factory=list)


def _missing(broadcast: Broadcast) -> list[str]:
    missing = []
    if not (broadcast.subject or "").strip():
        missing.append("subject")
    doc = broadcast.body_doc
    if not isinstance(doc, dict) or not doc.get("content"):
        missing.append("body_doc")
    if broadcast.audience is None:
        missing.append("audience")
    return missing


def _reason(in_topic: Any | None) -> Any:
    """Why an audience member is left out (NULL: they get the email)."""
    whens: list[Any] = [
        (or_(Contact.email.is_(None), Contact.email == ""), "no_email"),
        (Contact.unsubscribe_reason.in_(HARD), "bounced"),
        (Contact.unsubscribed_at.is_not(None), "suppressed"),
    ]
    if in_topic is not None:
        whens.append((not_(in_topic), "not_in_topic"))
    return case(*whens, else_=None)


def preflight(session: Session, broadcast: Broadcast, now: datetime | None = None) -> Preflight:
    """Count who would get the broadcast; raise ``Invalid`` naming what is
    missing (subject, body_doc, audience) or an audience nobody can receive."""
    missing = _missing(broadcast)
    if missing:
        raise Invalid(f"{', '.join(missing)}: missing (a broadcast needs a subject, a body "
                      "and an audience)")
    now = now or utcnow()
    pid = broadcast.project_id
    cond = audience_condition(session, pid, broadcast.audience, now)
    in_topic = topic_condition(session, pid, broadcast.topic_id, now) \
        if broadcast.topic_id is not None else None
    reason = _reason(in_topic)
    in_audience = and_(cond)
    counts = session.execute(
        select(reason.label("reason"), func.count()).select_from(Contact)
        .where(Contact.project_id == pid, in_audience).group_by(reason)).all()
    by_reason = {r: int(n) for r, n in counts}
    matches = by_reason.pop(None, 0)
    total = int(session.scalar(select(func.count()).select_from(Contact)
                               .where(Contact.project_id == pid)) or 0)
    excluded = {"suppressed": by_reason.get("suppressed", 0),
                "no_email": by_reason.get("no_email", 0),
                "bounced": by_reason.get("bounced", 0),
                "not_in_topic": by_reason.get("not_in_topic", 0)}
    sample = [Excluded(cid, ext, email, why) for cid, ext, email, why in session.execute(
        select(Contact.id, Contact.external_id, Contact.email, reason)
        .where(Contact.project_id == pid, in_audience, reason.is_not(None))
        .order_by(Contact.id).limit(SAMPLE))]
    return Preflight(matches, total, broadcast.subject or "", excluded, sample)


def require_sendable(session: Session, broadcast: Broadcast, now: datetime) -> Preflight:
    report = preflight(session, broadcast, now)
    if report.matches == 0:
        left_out = sum(report.excluded.values())
        raise Invalid(f"audience: nobody to send to ({left_out} matched, all excluded)")
    return report
