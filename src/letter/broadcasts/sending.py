"""The life of a broadcast once its time comes: start (or hold it when its
time passed too long ago), and the periodic pass that marks finished
broadcasts ``sent`` from their counters and re-holds or cancels any message
of a paused or cancelled broadcast that a retry put back in the queue.

>>> start(session, broadcast_id, utcnow(), max_lateness=timedelta(hours=1))  # doctest: +SKIP
True
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from letter.broadcasts.models import Broadcast, BroadcastStatus
from letter.broadcasts.service import _cancel_messages, hold_messages
from letter.delivery.counters import read

__all__ = ["LATE_REASON", "settle", "start"]

LATE_REASON = ("held: its scheduled time passed {minutes} minutes ago while Letter was "
               "not running; resume to send it now, or cancel it")
# Cancelled broadcasts are swept for retried messages this long after cancelling.
SWEEP_CANCELLED_FOR = timedelta(days=1)


def start(session: Session, broadcast_id: uuid.UUID, now: datetime,
          max_lateness: timedelta) -> bool:
    """Move a due ``scheduled`` broadcast to ``sending``; True when its snapshot
    should be written (it is sending, also after a crash)."""
    broadcast = session.scalars(select(Broadcast).where(Broadcast.id == broadcast_id)
                                .with_for_update()).one_or_none()
    if broadcast is None:
        return False
    if broadcast.status == BroadcastStatus.SCHEDULED:
        due = broadcast.starts_at or now
        if now - due > max_lateness:
            broadcast.status = BroadcastStatus.PAUSED
            broadcast.paused_reason = LATE_REASON.format(
                minutes=int((now - due).total_seconds() // 60))
            broadcast.updated_at = now
            return False
        broadcast.status = BroadcastStatus.SENDING
        broadcast.started_at = now
        broadcast.updated_at = now
    return broadcast.status == BroadcastStatus.SENDING and not broadcast.snapshot_done


def settle(session: Session, now: datetime) -> int:
    """Mark sending broadcasts whose every message settled as ``sent`` (from
    the counters, no COUNT over the outbox); keep paused and cancelled ones'
    messages out of the queue. Returns how many broadcasts finished."""
    finished = 0
    sending = session.scalars(select(Broadcast).where(
        Broadcast.status == BroadcastStatus.SENDING, Broadcast.snapshot_done.is_(True))
        .with_for_update(skip_locked=True))
    for broadcast in sending:
        if read(session, broadcast.project_id, broadcast.id).get("queued", 0) <= 0:
            broadcast.status, broadcast.completed_at = BroadcastStatus.SENT, now
            broadcast.updated_at = now
            finished += 1
    for broadcast in session.scalars(select(Broadcast).where(
            Broadcast.status == BroadcastStatus.PAUSED).with_for_update(skip_locked=True)):
        hold_messages(session, broadcast, now)
    for broadcast in session.scalars(select(Broadcast).where(
            Broadcast.status == BroadcastStatus.CANCELLED,
            Broadcast.cancelled_at >= now - SWEEP_CANCELLED_FOR)
            .with_for_update(skip_locked=True)):
        _cancel_messages(session, broadcast, now)
    session.flush()
    return finished
