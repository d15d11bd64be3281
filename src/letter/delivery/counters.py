"""Per-broadcast message counters (one upsert adds deltas by state), and
per-project sends by local day (what the daily cap reads).

>>> bump(session, project_id, broadcast_id, {"queued": -3, "sent": 3})  # doctest: +SKIP
>>> read(session, project_id, broadcast_id)["sent"]                     # doctest: +SKIP
3
>>> count_sent_days(session, {(project_id, date(2027, 6, 1)): 2})      # doctest: +SKIP
>>> sent_on(session, project_id, date(2027, 6, 1))                      # doctest: +SKIP
2
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from letter.delivery.models import MessageCounter, SendDay

__all__ = ["BroadcastDeltas", "bump", "bump_many", "count_sent_days", "read", "sent_on"]

_COUNTERS = cast(Table, MessageCounter.__table__)
_DAYS = cast(Table, SendDay.__table__)
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
    stmt = _insert(session, _COUNTERS)
    stmt = stmt.on_conflict_do_update(
        index_elements=["project_id", "broadcast_id", "state"],
        set_={"value": _COUNTERS.c.value + stmt.excluded.value})
    session.execute(stmt, rows)


def read(session: Session, project_id: uuid.UUID, broadcast_id: uuid.UUID) -> dict[str, int]:
    rows = session.execute(select(MessageCounter.state, MessageCounter.value).where(
        MessageCounter.project_id == project_id, MessageCounter.broadcast_id == broadcast_id))
    return {state: value for state, value in rows}


def count_sent_days(session: Session, sent: Mapping[tuple[uuid.UUID, date], int]) -> None:
    """Add messages accepted per (project, local day), one upsert per row."""
    rows = [{"project_id": p, "day": d, "sent": n} for (p, d), n in sorted(sent.items()) if n]
    if not rows:
        return
    stmt = _insert(session, _DAYS)
    stmt = stmt.on_conflict_do_update(index_elements=["project_id", "day"],
                                      set_={"sent": _DAYS.c.sent + stmt.excluded.sent})
    session.execute(stmt, rows)


def sent_on(session: Session, project_id: uuid.UUID, day: date) -> int:
    value = session.scalar(select(SendDay.sent).where(SendDay.project_id == project_id,
                                                      SendDay.day == day))
    return value or 0


def _insert(session: Session, table: Table) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)
