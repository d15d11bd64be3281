"""The audience snapshot: the broadcast's audience written to the outbox,
one ``queued`` row per (broadcast, contact), in contact-id order, a chunk per
transaction, from the position the broadcast saves with each chunk — so a
crash or a second worker continues where the last chunk ended and a unique
index forbids a second row for anyone.

Rows are written at the driver level (``letter.db.bulk``), what every row
shares sent once per statement: it is the hot path of a large broadcast.
The body is not copied into the rows: the drain reads the broadcast's.

>>> while write_chunk(session_per_chunk(), broadcast_id, "letter.localhost", now):
...     pass                                                     # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import String, and_, select, text, type_coerce
from sqlalchemy.orm import Session

from letter.broadcasts.audience import audience_condition, topic_condition
from letter.broadcasts.models import Broadcast, BroadcastStatus
from letter.contacts.models import Contact
from letter.db.bulk import BulkWriter
from letter.delivery.counters import bump
from letter.delivery.models import PRIORITY, MessageKind, MessageState
from letter.delivery.sender import from_address
from letter.domains.service import domain_of
from letter.ids import uuid7_batch, uuid7_ints
from letter.projects.models import Project

__all__ = ["CHUNK", "local_send_time", "write_chunk"]

CHUNK = 5000
_PER_ROW = ("id", "contact_id", "to_email", "next_attempt_at", "message_id_header")


def local_send_time(wall: datetime, zone: str | None, fallback: str) -> datetime:
    """The UTC instant of the naive wall-clock ``wall`` in ``zone`` (else
    ``fallback``, the project's zone, also used for an unknown zone name)."""
    try:
        tz = ZoneInfo(zone) if zone else ZoneInfo(fallback)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo(fallback)
    return wall.replace(tzinfo=tz).astimezone(UTC)


def _locked(session: Session, broadcast_id: uuid.UUID) -> Broadcast | None:
    # The row lock orders chunks against pause and cancel (and a second runner).
    return session.scalars(select(Broadcast).where(Broadcast.id == broadcast_id)
                           .with_for_update()).one_or_none()


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def write_chunk(session: Session, broadcast_id: uuid.UUID, sending_domain: str,
                now: datetime, chunk: int = CHUNK) -> bool:
    """Write the next chunk of the audience; False once there is nothing left
    to write (done, cancelled or deleted)."""
    broadcast = _locked(session, broadcast_id)
    if broadcast is None or broadcast.snapshot_done or broadcast.status not in (
            BroadcastStatus.SENDING, BroadcastStatus.PAUSED):
        return False
    project = session.get_one(Project, broadcast.project_id)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))  # see segments.service._dialect
    resolved_at = broadcast.started_at or now
    cond = audience_condition(session, project.id, broadcast.audience, resolved_at)
    if broadcast.topic_id is not None:
        cond = and_(cond, topic_condition(session, project.id, broadcast.topic_id, resolved_at))
    # The id as the driver gives it (32 hex characters on SQLite): it goes
    # straight back into the insert, and parsing 5,000 UUIDs costs more than it.
    raw_id = type_coerce(Contact.id, String) if _sqlite(session) else Contact.id
    stmt = (select(raw_id, Contact.email, Contact.timezone)
            .where(Contact.project_id == project.id, cond, Contact.email.is_not(None),
                   Contact.email != "")
            .order_by(Contact.id).limit(chunk))
    if broadcast.snapshot_after is not None:
        stmt = stmt.where(Contact.id > broadcast.snapshot_after)
    contacts = session.connection().execute(stmt).all()
    if contacts:
        _insert(BulkWriter(session), broadcast, project, contacts, sending_domain, now)
        bump(session, project.id, broadcast.id, {"queued": len(contacts)})
        last = contacts[-1][0]
        broadcast.snapshot_after = last if isinstance(last, uuid.UUID) else uuid.UUID(hex=str(last))
        broadcast.recipients += len(contacts)
    broadcast.snapshot_done = len(contacts) < chunk
    broadcast.updated_at = now
    session.flush()
    return not broadcast.snapshot_done


def _insert(writer: BulkWriter, broadcast: Broadcast, project: Project, contacts: Any,
            sending_domain: str, now: datetime) -> None:
    """One outbox row per contact: the per-recipient columns as rows, what every
    row shares sent once per statement."""
    domain = domain_of(from_address(project, sending_domain))
    state = MessageState.HELD if broadcast.status == BroadcastStatus.PAUSED \
        else MessageState.QUEUED
    wall = datetime.fromisoformat(broadcast.wall_time) \
        if broadcast.local_time and broadcast.wall_time else None
    by_zone: dict[str | None, Any] = {}
    stamp = writer.instant(now)
    rows = []
    ids: list[Any] = uuid7_ints(len(contacts)) if writer.sqlite \
        else uuid7_batch(len(contacts))
    for mid, (contact_id, email, zone) in zip(ids, contacts, strict=True):
        if wall is None:
            send_at = stamp
        elif zone in by_zone:
            send_at = by_zone[zone]
        else:
            send_at = by_zone[zone] = writer.instant(
                local_send_time(wall, zone, project.timezone))
        h = f"{mid:032x}" if writer.sqlite else mid.hex
        rows.append((h if writer.sqlite else mid, contact_id, email, send_at,
                     f"<{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}@{domain}>"))
    writer.insert_with_constants("messages", _PER_ROW, rows, {
        "project_id": writer.uuid(project.id), "kind": MessageKind.BULK.value,
        "state": state.value, "priority": PRIORITY[MessageKind.BULK],
        "subject": broadcast.subject or "", "preview": broadcast.preview,
        "template_id": writer.uuid(broadcast.template_id), "data": writer.json({}),
        "broadcast_id": writer.uuid(broadcast.id), "attempts": 0,
        "created_at": stamp, "updated_at": stamp,
    })


def earliest_start(wall: datetime) -> datetime:
    """When ``wall`` first happens anywhere (UTC+14): a local-time snapshot starts then."""
    return wall.replace(tzinfo=UTC) - timedelta(hours=14)


def latest_moment(wall: datetime) -> datetime:
    """When ``wall`` last happens anywhere (UTC-12)."""
    return wall.replace(tzinfo=UTC) + timedelta(hours=12)
