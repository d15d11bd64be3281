"""Loading the contacts and accounts a batch touches, as in-memory rows.

>>> rows = load(session, contacts_t, project_id, {"u1"}, lock=True, full=True)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import ARRAY, String, Table, bindparam, func, select, text, true
from sqlalchemy.orm import Session

from letter.contacts.models import Account, Contact

__all__ = ["Row", "accounts_t", "contacts_t", "load", "load_email_only", "planned_for_now"]

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


@contextmanager
def planned_for_now(session: Session) -> Iterator[None]:
    """Plan the lookups inside for the tables as they are now (PostgreSQL).

    The driver prepares statements it runs often, and PostgreSQL may keep a
    generic plan made while a table was tiny and had no statistics (a fresh
    project being imported): then every lookup scans the whole project. Only
    the lookups opt out of cached plans; the foreign-key checks of the inserts
    keep theirs, which are right and cost a re-plan per row otherwise.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    yield
    session.execute(text("SET LOCAL plan_cache_mode TO DEFAULT"))


def _lookup_each(
    table: Table, columns: tuple[Any, ...], project_id: uuid.UUID, external_ids: set[str],
    lock: bool,
) -> Any:
    """One index probe per id on PostgreSQL: ``unnest(ids)`` joined LATERAL.

    A plain ``IN`` or join lets the planner scan every row of the project
    when the table has no statistics yet (a fresh project being imported),
    which makes each batch cost as much as the table is big; a parameterised
    probe on the ``(project_id, external_id)`` unique index cannot be
    outguessed. Rows are locked in external-id order, the same order for
    every batch, so concurrent batches do not deadlock.
    """
    c = table.c
    wanted = func.unnest(
        bindparam("external_ids", sorted(external_ids), type_=ARRAY(String))
    ).table_valued("external_id", with_ordinality="n").render_derived()
    # LIMIT 1 (there is at most one row) also keeps the planner from flattening
    # the probe into an ordinary join, which it may then run as a scan.
    probe = (
        select(*columns)
        .where(c.project_id == project_id, c.external_id == wanted.c.external_id)
        .limit(1)
    )
    if lock:
        probe = probe.with_for_update()
    found = probe.lateral()
    return select(*found.c).select_from(wanted).join(found, true()).order_by(wanted.c.n)


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
    c = table.c
    if table is contacts_t:
        extra = (c.account_id, c.email, c.timezone) if full else (c.account_id,)
    else:
        extra = (c.name,)
    columns = (c.id, c.external_id, *((c.traits,) if full else ()), *extra)
    stmt = _lookup_each(table, columns, project_id, external_ids, lock)
    found: dict[str, Row] = {}
    for row in session.execute(stmt):
        state = Row(row.id, row.external_id, (row.traits or {}) if full else {}, False, NEVER)
        if table is contacts_t:
            state.account_id = row.account_id
            if full:
                state.email, state.timezone = row.email, row.timezone
        else:
            state.name = row.name
        found[row.external_id] = state
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
    c = contacts_t.c
    columns = (c.id, c.email_key, c.traits, c.created_at, c.account_id, c.email, c.timezone)
    stmt: Any
    if session.get_bind().dialect.name == "postgresql":
        wanted = func.unnest(
            bindparam("email_keys", sorted(keys), type_=ARRAY(String))
        ).table_valued("email_key", with_ordinality="n").render_derived()
        probe = (
            select(*columns)
            .where(c.project_id == project_id, c.email_key == wanted.c.email_key,
                   c.external_id.is_(None))
            .order_by(c.created_at, c.id)
            .limit(1)
        )
        if lock:
            probe = probe.with_for_update()
        found = probe.lateral()
        stmt = select(*found.c).select_from(wanted).join(found, true()).order_by(wanted.c.n)
    else:
        stmt = (select(*columns)
                .where(c.project_id == project_id, c.email_key.in_(keys),
                       c.external_id.is_(None))
                .order_by(c.created_at.desc(), c.id.desc()))
    rows: dict[str, Row] = {}
    for row in session.execute(stmt):
        # SQLite returns every match, newest first: the oldest one stays.
        rows[row.email_key] = Row(row.id, "", row.traits or {}, False, row.created_at,
                                  email=row.email, timezone=row.timezone,
                                  account_id=row.account_id)
    return rows
