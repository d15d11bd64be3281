"""Per-broadcast message counters: one upsert adds deltas by state.

>>> bump(session, project_id, broadcast_id, {"queued": -3, "sent": 3})  # doctest: +SKIP
>>> read(session, project_id, broadcast_id)["sent"]                     # doctest: +SKIP
3
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from letter.delivery.models import MessageCounter

__all__ = ["BroadcastDeltas", "bump", "bump_many", "read"]

_COUNTERS = cast(Table, MessageCounter.__table__)
# (project_id, broadcast_id) -> state -> delta
BroadcastDeltas = dict[tuple[uuid.UUID, uuid.UUID], Counter[str]]


def bump(session: Session, project_id: uuid.UUID, broadcast_id: uuid.UUID,
         deltas: Mapping[str, int]) -> None:
    bump_many(session, {(project_id, broadcast_id): Counter(deltas)})


def bump_many(session: Session, deltas: BroadcastDeltas) -> None:
    """Add every non-zero delta in one statement (an upsert per row)."""
    rows = [{"project_id": p, "broadcast_id": b, "state": state, "value": n}
            for (p, b), by_state in deltas.items() for state, n in sorted(by_state.items()) if n]
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(_COUNTERS)
    stmt = stmt.on_conflict_do_update(
        index_elements=["project_id", "broadcast_id", "state"],
        set_={"value": _COUNTERS.c.value + stmt.excluded.value})
    session.execute(stmt, rows)


def read(session: Session, project_id: uuid.UUID, broadcast_id: uuid.UUID) -> dict[str, int]:
    rows = session.execute(select(MessageCounter.state, MessageCounter.value).where(
        MessageCounter.project_id == project_id, MessageCounter.broadcast_id == broadcast_id))
    return {state: value for state, value in rows}
