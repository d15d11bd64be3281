"""Finding the contacts and accounts a chunk of import rows names.

>>> by_ext = load(session, project.id, contacts_t.c.external_id, {"u1"},
...               lock=False)  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from letter.contacts.models import Account, Contact
from letter.db.bulk import BulkWriter
from letter.ids import uuid7

__all__ = ["State", "accounts", "any_email_only", "contacts_t", "cursor", "load"]

LOOKUP_BATCH = 5000  # values per IN list (SQLite allows 32,766 parameters)

contacts_t: Table = Contact.__table__  # type: ignore[assignment]
accounts_t: Table = Account.__table__  # type: ignore[assignment]
_c = contacts_t.c

@dataclass(slots=True)
class State:
    """A contact while a chunk is walked: as stored, then as the rows leave it."""

    id: uuid.UUID
    external_id: str | None
    email: str | None
    traits: dict[str, Any]
    timezone: str | None
    account_id: uuid.UUID | None
    unsubscribed_at: datetime | None
    reason: str | None
    created_at: datetime
    new: bool = False
    dirty: bool = False


def load(session: Session, project_id: uuid.UUID, column: Any, values: Collection[str],
          *, lock: bool) -> dict[str, State]:
    """The oldest contact for each value of ``column`` (external_id or email_key)."""
    if not values:
        return {}
    if not pg(session):
        return _load_sqlite(session, project_id, column.name, sorted(values))
    # One index probe per value (see letter.ingestion.lookup: a fresh
    # project's statistics would otherwise plan a scan), at the driver with
    # the values as one binary array (%b): psycopg escapes a text array in Python.
    cur = cursor(session)
    cur.execute(
        "SELECT c.id, c.external_id, c.email, c.traits, c.timezone, c.account_id,"
        " c.unsubscribed_at, c.unsubscribe_reason, c.created_at, v.k"
        " FROM unnest(%b::text[]) AS v(k) CROSS JOIN LATERAL (SELECT * FROM contacts c"
        f" WHERE c.project_id = %b AND c.{column.name} = v.k ORDER BY c.created_at, c.id"
        f" LIMIT 1{' FOR UPDATE' if lock else ''}) c ORDER BY v.k", (sorted(values), project_id))
    states: dict[str, State] = {}
    for row in cur.fetchall():
        states.setdefault(row[9], State(row[0], row[1], row[2], row[3] or {}, row[4], row[5],
                                        row[6], row[7], row[8]))
    return states


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def _load_sqlite(session: Session, project_id: uuid.UUID, column: str, values: list[str]
                 ) -> dict[str, State]:
    """The SQLite path at the driver: an ``IN`` list compiled by SQLAlchemy
    costs more than the lookup. No ORDER BY: SQLite would walk the
    (project_id, created_at, id) index for it instead of probing the values."""
    cur = cursor(session)
    rows: list[Any] = []
    for start in range(0, len(values), LOOKUP_BATCH):
        part = values[start:start + LOOKUP_BATCH]
        cur.execute(
            "SELECT id, external_id, email, traits, timezone, account_id, unsubscribed_at,"
            f" unsubscribe_reason, created_at, {column} FROM contacts WHERE project_id = ?"
            f" AND {column} IN ({', '.join('?' * len(part))})", (project_id.hex, *part))
        rows += cur.fetchall()
    states: dict[str, State] = {}
    for row in sorted(rows, key=lambda r: (r[8], r[0])):
        if row[9] not in states:
            states[row[9]] = State(
                uuid.UUID(hex=row[0]), row[1], row[2], orjson.loads(row[3]) if row[3] else {},
                row[4], uuid.UUID(hex=row[5]) if row[5] else None, _instant(row[6]), row[7],
                _instant(row[8]) or datetime.min.replace(tzinfo=UTC))
    return states


def cursor(session: Session) -> Any:
    """The driver's cursor under the session's connection (same transaction)."""
    return session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def any_email_only(session: Session, project_id: uuid.UUID) -> bool:
    """Whether any contact has an email and no external id (an index probe)."""
    return session.scalar(select(_c.id).where(
        _c.project_id == project_id, _c.external_id.is_(None)).limit(1)) is not None


def accounts(session: Session, writer: BulkWriter, project_id: uuid.UUID,
              external_ids: set[str], now: datetime) -> dict[str, uuid.UUID]:
    """Ids of the named accounts, creating the missing ones (as group does)."""
    if not external_ids:
        return {}
    a = accounts_t.c

    def known() -> dict[str, uuid.UUID]:
        rows = session.execute(select(a.external_id, a.id).where(
            a.project_id == project_id, a.external_id.in_(external_ids)))
        return {ext: ident for ext, ident in rows}

    found = known()
    missing = sorted(external_ids - found.keys())
    if missing:
        w, at = writer, writer.instant(now)
        writer.insert("accounts", ("id", "project_id", "external_id", "traits", "created_at",
                                   "updated_at"),
                      [(w.uuid(uuid7()), w.uuid(project_id), ext, w.json({}), at, at)
                       for ext in missing],
                      " ON CONFLICT (project_id, external_id) DO NOTHING")
        found = known()
    return found


def pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
