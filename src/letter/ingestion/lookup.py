"""Loading the contacts and accounts a batch touches, as in-memory rows.

>>> rows = load(session, contacts_t, project_id, {"u1"}, lock=True, full=True)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from letter.contacts.models import Account, Contact

__all__ = ["Row", "accounts_t", "contacts_t", "load", "load_email_only", "pg_lookup_sql"]

contacts_t: Table = Contact.__table__  # type: ignore[assignment]
accounts_t: Table = Account.__table__  # type: ignore[assignment]

# Stands in for the created_at of a row loaded without it (never written back).
NEVER = datetime.min
# Ids per SQLite statement: under its cap on parameters.
CHUNK = 500
_LONG_INTEGER = re.compile(r"\d{19}")


@dataclass(slots=True)
class Row:
    """The in-memory state of one contact or account while a batch is walked."""

    id: uuid.UUID
    external_id: str
    traits: dict[str, Any]
    new: bool
    created_at: datetime
    email: str | None = None
    timezone: str | None = None
    name: str | None = None
    account_id: uuid.UUID | None = None
    dirty: bool = False
    # An email-only contact this batch gives its external id to.
    claimed: bool = False


_PG_LOOKUP = (
    "SELECT found.* FROM unnest(%s::text[]) WITH ORDINALITY AS wanted({key}, n)"
    " CROSS JOIN LATERAL (SELECT {columns} FROM {table}"
    " WHERE project_id = %s AND {key} = wanted.{key}{extra} {order}LIMIT 1{lock}) AS found"
    " ORDER BY wanted.n"
)


def pg_lookup_sql(table: str, columns: str, *, key: str = "external_id", extra: str = "",
                  order: str = "", lock: bool) -> str:
    """One index probe per wanted key on PostgreSQL: ``unnest`` joined LATERAL.

    A plain ``IN`` or join lets the planner scan every row of the project
    when the table has no statistics yet (a fresh project being imported),
    which makes each batch cost as much as the table is big; a parameterised
    probe on the ``(project_id, key)`` index cannot be outguessed. ``LIMIT 1``
    (there is at most one row) also keeps the planner from flattening the
    probe into an ordinary join. Rows are locked in key order, the same for
    every batch, so concurrent batches do not deadlock.
    """
    return _PG_LOOKUP.format(
        key=key, columns=columns, table=table, extra=extra,
        order=f"ORDER BY {order} " if order else "", lock=" FOR UPDATE" if lock else "",
    )


def _pg_rows(session: Session, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Rows of a lookup, planned for its parameters on every run.

    The driver prepares a statement it runs often, and PostgreSQL may then
    keep a generic plan made while a table was tiny and had no statistics (a
    fresh project being imported): every lookup would scan the whole project.
    Unprepared, each run is planned for the table as it is now.
    """
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(sql, params, prepare=False)
        return cursor.fetchall()


def _stored_json(text: str | None) -> dict[str, Any]:
    """Stored traits as SQLAlchemy would read them: orjson unless a long run of
    digits may be an integer beyond 64 bits, which it would turn into a float."""
    if text is None:
        return {}
    if _LONG_INTEGER.search(text) is None:
        try:
            return orjson.loads(text) or {}
        except orjson.JSONDecodeError:
            pass
    return json.loads(text) or {}


def _load_sqlite(
    session: Session, table: Table, project_id: uuid.UUID, external_ids: set[str], full: bool
) -> dict[str, Row]:
    """The SQLite lookup at the driver level: SQLAlchemy's per-row result
    processing costs more than the query. Values are converted as the column
    types would (UUIDs from hex, traits with ``_stored_json``)."""
    is_contact = table is contacts_t
    if is_contact:
        columns = "id, external_id, account_id" + (", traits, email, timezone" if full else "")
    else:
        columns = "id, external_id, name, traits"
    found: dict[str, Row] = {}
    connection = session.connection()
    ids = sorted(external_ids)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        sql = (
            f"SELECT {columns} FROM {table.name} WHERE project_id = ? AND external_id IN "
            f"({', '.join('?' * len(chunk))})"
        )
        for row in connection.exec_driver_sql(sql, (project_id.hex, *chunk)):
            state = Row(UUID(row[0]), row[1], {}, False, NEVER)
            if is_contact:
                state.account_id = None if row[2] is None else UUID(row[2])
                if full:
                    state.traits, state.email, state.timezone = _stored_json(row[3]), row[4], row[5]
            else:
                state.name, state.traits = row[2], _stored_json(row[3])
            found[row[1]] = state
    return found


def load(
    session: Session,
    table: Table,
    project_id: uuid.UUID,
    external_ids: set[str],
    *,
    lock: bool,
    full: bool,
) -> dict[str, Row]:
    """The stored rows for ``external_ids``; without ``full`` only what a
    track needs (ids and the account), which skips decoding the traits.
    A loaded row's ``created_at`` is ``NEVER``: only new rows are inserted."""
    if not external_ids:
        return {}
    if session.get_bind().dialect.name != "postgresql":
        return _load_sqlite(session, table, project_id, external_ids, full)
    if table is contacts_t:
        columns = "id, external_id, account_id" + (", traits, email, timezone" if full else "")
    else:
        columns = "id, external_id, name, traits"
    sql = pg_lookup_sql(table.name, columns, lock=lock)
    found: dict[str, Row] = {}
    for row in _pg_rows(session, sql, (sorted(external_ids), project_id)):
        state = Row(row[0], row[1], {}, False, NEVER)
        if table is contacts_t:
            state.account_id = row[2]
            if full:
                state.traits, state.email, state.timezone = row[3] or {}, row[4], row[5]
        else:
            state.name, state.traits = row[2], row[3] or {}
        found[row[1]] = state
    return found


def load_email_only(
    session: Session, project_id: uuid.UUID, keys: set[str], *, lock: bool
) -> dict[str, Row]:
    """The oldest contact without an external id for each email key in
    ``keys`` (``email_key`` -> row), row-locked on PostgreSQL.

    A concurrent batch that claimed one first has set its external id by the
    time the lock is granted, and PostgreSQL re-checks the condition then,
    so a contact is never claimed twice.
    """
    if not keys:
        return {}
    if session.get_bind().dialect.name != "postgresql":
        return _email_only_sqlite(session, project_id, keys)
    sql = pg_lookup_sql(
        "contacts", "id, email_key, traits, created_at, account_id, email, timezone",
        key="email_key", extra=" AND external_id IS NULL", order="created_at, id", lock=lock,
    )
    return {
        row[1]: Row(row[0], "", row[2] or {}, False, row[3].astimezone(UTC), email=row[5],
                    timezone=row[6], account_id=row[4])
        for row in _pg_rows(session, sql, (sorted(keys), project_id))
    }


def _email_only_sqlite(session: Session, project_id: uuid.UUID, keys: set[str]
                       ) -> dict[str, Row]:
    c = contacts_t.c
    stmt = (select(c.id, c.email_key, c.traits, c.created_at, c.account_id, c.email, c.timezone)
            .where(c.project_id == project_id, c.email_key.in_(keys), c.external_id.is_(None))
            .order_by(c.created_at.desc(), c.id.desc()))
    rows: dict[str, Row] = {}
    for row in session.execute(stmt):
        # Every match, newest first: the oldest one stays.
        rows[row.email_key] = Row(row.id, "", row.traits or {}, False, row.created_at,
                                  email=row.email, timezone=row.timezone,
                                  account_id=row.account_id)
    return rows
