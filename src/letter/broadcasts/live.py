"""What a broadcast is doing now: its state, counters and latest outcomes.

>>> stats, activity = live(session, broadcast)      # doctest: +SKIP
>>> stats["sent"]                                    # doctest: +SKIP
3499
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from letter.broadcasts.models import Broadcast
from letter.delivery.counters import read
from letter.delivery.models import Message, MessageState

__all__ = ["STATS", "live"]

STATS = ("queued", "sent", "delivered", "opened", "clicked", "bounced", "complained",
         "suppressed", "failed", "unsubscribed", "cancelled")
ACTIVITY = 20
UNSETTLED = (MessageState.QUEUED, MessageState.HELD, MessageState.SENDING)


def live(session: Session, broadcast: Broadcast) -> tuple[dict[str, int], list[Any]]:
    """The counters (kept per batch by the drain; no COUNT over the outbox) and
    the latest per-recipient outcomes."""
    counters = read(session, broadcast.project_id, broadcast.id)
    stats = {name: counters.get(name, 0) for name in STATS}
    activity = list(session.execute(
        select(Message.id, Message.state, Message.reason,
               Message.updated_at.label("finished_at"), Message.to_email.label("contact_email"),
               Message.contact_id)
        .where(Message.project_id == broadcast.project_id,
               Message.broadcast_id == broadcast.id, Message.state.not_in(UNSETTLED))
        .order_by(Message.updated_at.desc(), Message.id.desc()).limit(ACTIVITY)))
    return stats, activity
