"""Broadcast rules: drafts, scheduling, pause, resume, cancel, test sends.

Services take a Session and plain values and never commit (the request or
the job runner does). Sending itself is the ``broadcasts.send`` job
(``jobs.py``), which writes the audience snapshot (``snapshot.py``).

>>> b = create_broadcast(session, project.id, name="May", from_email=None)  # doctest: +SKIP
>>> schedule(session, project.id, b.id, scheduled_at=None, local_time=False)  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from letter.audience.topics import get_topic
from letter.broadcasts.audience import check_audience
from letter.broadcasts.models import EDITABLE, Broadcast, BroadcastStatus
from letter.broadcasts.preflight import require_sendable
from letter.broadcasts.snapshot import earliest_start, latest_moment
from letter.clock import utcnow
from letter.db.pagination import PageParams, PageResult, paginate
from letter.delivery.counters import bump
from letter.delivery.models import Message, MessageState
from letter.errors import Conflict, Invalid, NotFound
from letter.jobs import enqueue
from letter.templates import service as templates

__all__ = [
    "QUEUE", "SEND_JOB", "cancel", "create_broadcast", "delete_broadcast", "get_broadcast",
    "list_broadcasts", "pause", "resume", "schedule", "update_broadcast",
]

QUEUE = "broadcasts"
SEND_JOB = "broadcasts.send"
# How far in the past a requested send time may be (clock skew, a slow form).
PAST_TOLERANCE = timedelta(minutes=1)
FIELDS = ("name", "subject", "preview", "audience", "template_id", "body_doc", "topic_id")


def list_broadcasts(session: Session, project_id: uuid.UUID, page: PageParams
                    ) -> PageResult[Broadcast]:
    return paginate(session, select(Broadcast).where(Broadcast.project_id == project_id),
                    Broadcast, page, newest_first=True)


def get_broadcast(session: Session, project_id: uuid.UUID, broadcast_id: uuid.UUID,
                  *, lock: bool = False) -> Broadcast:
    stmt = select(Broadcast).where(Broadcast.project_id == project_id,
                                   Broadcast.id == broadcast_id)
    found = session.scalars(stmt.with_for_update() if lock else stmt).one_or_none()
    if found is None:
        raise NotFound(f"No broadcast {broadcast_id} in this project.")
    return found


def _apply(session: Session, broadcast: Broadcast, changes: dict[str, Any]) -> None:
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise Invalid(f"{sorted(unknown)[0]}: not a broadcast field")
    if "name" in changes:
        name = (changes["name"] or "").strip()
        if not name:
            raise Invalid("name: must not be empty")
        changes["name"] = name
    if changes.get("audience") is not None:
        changes["audience"] = check_audience(session, broadcast.project_id, changes["audience"])
    if changes.get("template_id") is not None:
        templates.get_template(session, broadcast.project_id, changes["template_id"])
    if changes.get("topic_id") is not None:
        try:
            get_topic(session, broadcast.project_id, changes["topic_id"])
        except NotFound as exc:
            raise Invalid(f"topic_id: no topic {changes['topic_id']} in this project") from exc
    for key, value in changes.items():
        setattr(broadcast, key, value)


def create_broadcast(session: Session, project_id: uuid.UUID, *, from_email: str | None,
                     **fields: Any) -> Broadcast:
    broadcast = Broadcast(project_id=project_id, status=BroadcastStatus.DRAFT,
                          from_email=from_email)
    if fields.get("name") is None:
        fields.pop("name", None)
    _apply(session, broadcast, fields)
    session.add(broadcast)
    session.flush()
    return broadcast


def update_broadcast(session: Session, project_id: uuid.UUID, broadcast_id: uuid.UUID,
                     changes: dict[str, Any]) -> Broadcast:
    broadcast = get_broadcast(session, project_id, broadcast_id, lock=True)
    if broadcast.status not in EDITABLE:
        raise Conflict(f"Broadcast is {broadcast.status}: only a draft can be edited.")
    _apply(session, broadcast, changes)
    broadcast.updated_at = utcnow()
    session.flush()
    return broadcast


def delete_broadcast(session: Session, project_id: uuid.UUID, broadcast_id: uuid.UUID) -> None:
    broadcast = get_broadcast(session, project_id, broadcast_id, lock=True)
    if broadcast.status == BroadcastStatus.SENDING:
        raise Conflict("Broadcast is sending: cancel or pause it first.")
    _cancel_messages(session, broadcast)
    session.delete(broadcast)
    session.flush()


def schedule(session: Session, project_id: uuid.UUID, broadcast_id: uuid.UUID, *,
             scheduled_at: datetime | None, local_time: bool,
             now: datetime | None = None) -> Broadcast:
    """Schedule a draft for ``scheduled_at`` (None: now). With ``local_time``
    the wall-clock time of ``scheduled_at`` is read in each contact's zone."""
    now = now or utcnow()
    broadcast = get_broadcast(session, project_id, broadcast_id, lock=True)
    if broadcast.status != BroadcastStatus.DRAFT:
        raise Conflict(f"Broadcast is {broadcast.status}: only a draft can be scheduled.")
    require_sendable(session, broadcast, now)
    if scheduled_at is None:
        if local_time:
            raise Invalid("local_time: needs a scheduled_at")
        scheduled_at = starts_at = now
    elif local_time:
        wall = scheduled_at.replace(tzinfo=None)
        if latest_moment(wall) < now - PAST_TOLERANCE:
            raise Invalid("scheduled_at: that time has passed in every time zone")
        broadcast.wall_time = wall.isoformat()
        starts_at = max(now, earliest_start(wall))
        scheduled_at = wall.replace(tzinfo=UTC)
    else:
        scheduled_at = scheduled_at.astimezone(UTC)
        if scheduled_at < now - PAST_TOLERANCE:
            raise Invalid("scheduled_at: must not be in the past")
        starts_at = max(now, scheduled_at)
    broadcast.status = BroadcastStatus.SCHEDULED
    broadcast.scheduled_at, broadcast.starts_at = scheduled_at, starts_at
    broadcast.local_time = local_time
    broadcast.updated_at = now
    _enqueue_send(session, broadcast, starts_at, "schedule")
    session.flush()
    return broadcast


def _enqueue_send(session: Session, broadcast: Broadcast, run_at: datetime, why: str) -> None:
    enqueue(session, SEND_JOB, {"broadcast_id": str(broadcast.id)}, queue=QUEUE,
            run_at=run_at, lock_key=f"broadcast:{broadcast.id}",
            unique_key=f"broadcast:{broadcast.id}:{why}", max_attempts=20)


def _move(session: Session, broadcast: Broadcast, from_states: tuple[str, ...],
          to_state: str, now: datetime) -> int:
    """Move the broadcast's unsent messages between states; returns how many."""
    result = session.execute(
        update(Message).where(Message.project_id == broadcast.project_id,
                              Message.broadcast_id == broadcast.id,
                              Message.state.in_(from_states))
        .values(state=to_state, updated_at=now).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def hold_messages(session: Session, broadcast: Broadcast, now: datetime) -> int:
    return _move(session, broadcast, (MessageState.QUEUED,), MessageState.HELD, now)


def _cancel_messages(session: Session, broadcast: Broadcast, now: datetime | None = None) -> int:
    moved = _move(session, broadcast, (MessageState.QUEUED, MessageState.HELD),
                  MessageState.CANCELLED, now or utcnow())
    bump(session, broadcast.project_id, broadcast.id, {"queued": -moved, "cancelled": moved})
    return moved


def pause(session: Session, project_id: uuid.UUID, broadcast_id: uuid.UUID,
          reason: str = "paused by a user") -> Broadcast:
    """Stop new sends: queued messages are held (the outbox claim passes them
    by); messages already claimed by a worker finish."""
    broadcast = get_broadcast(session, project_id, broadcast_id, lock=True)
    if broadcast.status not in (BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING):
        raise Conflict(f"Broadcast is {broadcast.status}: only a scheduled or sending "
                       "broadcast can be paused.")
    now = utcnow()
    broadcast.status, broadcast.paused_reason = BroadcastStatus.PAUSED, reason
    hold_messages(session, broadcast, now)
    broadcast.updated_at = now
    session.flush()
    return broadcast


def resume(session: Session, project_id: uuid.UUID, broadcast_id: uuid.UUID) -> Broadcast:
    """Release held messages and finish the snapshot; a broadcast held for
    lateness starts now."""
    broadcast = get_broadcast(session, project_id, broadcast_id, lock=True)
    if broadcast.status != BroadcastStatus.PAUSED:
        raise Conflict(f"Broadcast is {broadcast.status}: only a paused broadcast resumes.")
    now = utcnow()
    if broadcast.started_at is None and broadcast.starts_at and broadcast.starts_at > now \
            and broadcast.paused_reason == "paused by a user":
        broadcast.status = BroadcastStatus.SCHEDULED  # its time has not come yet
        run_at = broadcast.starts_at
    else:
        broadcast.status = BroadcastStatus.SENDING
        broadcast.started_at = broadcast.started_at or now
        run_at = now
    broadcast.paused_reason = None
    _move(session, broadcast, (MessageState.HELD,), MessageState.QUEUED, now)
    if not broadcast.snapshot_done:
        _enqueue_send(session, broadcast, run_at, f"resume:{now.isoformat()}")
    broadcast.updated_at = now
    session.flush()
    return broadcast


def cancel(session: Session, project_id: uuid.UUID, broadcast_id: uuid.UUID) -> Broadcast:
    """Cancel a scheduled, sending or paused broadcast: unsent messages are
    cancelled, sent ones stay sent."""
    broadcast = get_broadcast(session, project_id, broadcast_id, lock=True)
    if broadcast.status not in (BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING,
                                BroadcastStatus.PAUSED):
        raise Conflict(f"Broadcast is {broadcast.status}: nothing to cancel.")
    now = utcnow()
    broadcast.status, broadcast.cancelled_at = BroadcastStatus.CANCELLED, now
    _cancel_messages(session, broadcast, now)
    broadcast.updated_at = now
    session.flush()
    return broadcast
