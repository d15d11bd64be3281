"""Write one chunk of parsed rows: set-based SQL, the outcome of applying the
rows one by one in file order.

A row names its contact by ``external_id``, else by email. An ``external_id``
not stored yet claims the contact that has the row's email and no
``external_id`` (one person, first imported by email); an email alone
matches the oldest contact with that address in any letter case. A contact
found is skipped (``dedupe: skip``, untouched) or updated (``update``):
traits deep-merge as identify merges them, and the other mapped fields
replace. So a duplicate within the file is first-wins under skip and
last-wins under update, and every row is counted.

Status: ``unsubscribed`` suppresses a contact with reason ``import`` (an
earlier suppression keeps its reason); ``subscribed`` lifts only a
suppression an import made — never a bounce, a complaint or a person's own
unsubscribe.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, String, Table, bindparam, func, select, text, true, update
from sqlalchemy.orm import Session

from letter.audience.service import subscribe_new_contacts
from letter.contacts.models import Account, Contact
from letter.emails import email_key
from letter.ids import uuid7
from letter.imports.rows import ContactRow
from letter.ingestion import hooks
from letter.ingestion.bulk import BulkWriter
from letter.ingestion.merge import deep_merge
from letter.projects.models import Project

__all__ = ["IMPORT_REASON", "Race", "Tally", "apply_rows"]

IMPORT_REASON = "import"

contacts_t: Table = Contact.__table__  # type: ignore[assignment]
accounts_t: Table = Account.__table__  # type: ignore[assignment]
_c = contacts_t.c
_COLUMNS = (_c.id, _c.external_id, _c.email, _c.traits, _c.timezone, _c.account_id,
            _c.unsubscribed_at, _c.unsubscribe_reason, _c.created_at)
_INSERT = ("id", "project_id", "external_id", "email", "email_key", "traits", "timezone",
           "account_id", "unsubscribed_at", "unsubscribe_reason", "created_at", "updated_at")


class Race(Exception):
    """A concurrent writer created a contact this chunk meant to create: the
    chunk is rolled back and applied again."""


@dataclass(slots=True)
class _State:
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


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    created_ids: list[uuid.UUID] = field(default_factory=list)


def _pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _load(session: Session, project_id: uuid.UUID, column: Any, values: Collection[str],
          *, lock: bool) -> dict[str, _State]:
    """The oldest contact for each value of ``column`` (external_id or email_key)."""
    if not values:
        return {}
    if _pg(session):
        # One index probe per value (see letter.ingestion.lookup: a fresh
        # project's statistics would otherwise plan a scan).
        wanted = func.unnest(bindparam("values", sorted(values), type_=ARRAY(String))
                             ).table_valued("v").render_derived()
        probe = (select(*_COLUMNS, column.label("k"))
                 .where(_c.project_id == project_id, column == wanted.c.v)
                 .order_by(_c.created_at, _c.id).limit(1))
        if lock:
            probe = probe.with_for_update()
        found = probe.lateral()
        stmt: Any = select(*found.c).select_from(wanted).join(found, true())
    else:
        stmt = (select(*_COLUMNS, column.label("k"))
                .where(_c.project_id == project_id, column.in_(values))
                .order_by(_c.created_at, _c.id))
    states: dict[str, _State] = {}
    for row in session.execute(stmt):
        if row.k not in states:
            states[row.k] = _State(row.id, row.external_id, row.email, row.traits or {},
                                   row.timezone, row.account_id, row.unsubscribed_at,
                                   row.unsubscribe_reason, row.created_at)
    return states


def _accounts(session: Session, writer: BulkWriter, project_id: uuid.UUID,
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


def _update(state: _State, row: ContactRow, account_id: uuid.UUID | None, claim: bool,
            now: datetime) -> None:
    if claim:
        state.external_id, state.dirty = row.external_id, True
    if row.external_id is not None and row.email is not None and row.email != state.email:
        state.email, state.dirty = row.email, True
    if row.traits:
        merged = deep_merge(state.traits, row.traits)
        if merged != state.traits:
            state.traits, state.dirty = merged, True
    if row.timezone is not None and row.timezone != state.timezone:
        state.timezone, state.dirty = row.timezone, True
    if account_id is not None and account_id != state.account_id:
        state.account_id, state.dirty = account_id, True
    if row.unsubscribed and state.unsubscribed_at is None:
        state.unsubscribed_at, state.reason, state.dirty = now, IMPORT_REASON, True
    elif row.unsubscribed is False and state.reason == IMPORT_REASON:
        state.unsubscribed_at, state.reason, state.dirty = None, None, True


def _walk(rows: list[ContactRow], by_ext: dict[str, _State], by_key: dict[str, _State],
          accounts: dict[str, uuid.UUID], update_existing: bool, now: datetime,
          tally: Tally) -> tuple[list[_State], list[_State]]:
    """Apply the rows in order in memory; returns the new and the touched states."""
    new: list[_State] = []
    touched: dict[uuid.UUID, _State] = {}
    for row in rows:
        state = None
        claim = False
        if row.external_id is not None:
            state = by_ext.get(row.external_id)
            if state is None and row.key is not None:
                candidate = by_key.get(row.key)
                if candidate is not None and candidate.external_id is None:
                    state, claim = candidate, True
        else:
            state = by_key.get(row.key)  # type: ignore[arg-type]
        account_id = accounts.get(row.account) if row.account is not None else None
        if state is None:
            state = _State(uuid7(), row.external_id, row.email, row.traits, row.timezone,
                           account_id, now if row.unsubscribed else None,
                           IMPORT_REASON if row.unsubscribed else None, now, new=True)
            if row.external_id is not None:
                by_ext[row.external_id] = state
            if row.key is not None:
                by_key.setdefault(row.key, state)
            new.append(state)
            touched[state.id] = state
            tally.created += 1
            continue
        if not update_existing:
            tally.skipped += 1
            continue
        tally.updated += 1
        _update(state, row, account_id, claim, now)
        if claim:
            by_ext[row.external_id] = state  # type: ignore[index]
        touched[state.id] = state
    return new, list(touched.values())


def _key(email: str | None) -> str | None:
    return None if email is None else email_key(email)


def _insert(writer: BulkWriter, project_id: uuid.UUID, new: list[_State], now: datetime) -> None:
    w, pid, at = writer, writer.uuid(project_id), writer.instant(now)
    values = [
        (w.uuid(s.id), pid, s.external_id, s.email, _key(s.email), w.json(s.traits), s.timezone,
         w.uuid(s.account_id), w.instant(s.unsubscribed_at) if s.unsubscribed_at else None,
         s.reason, at, at)
        for s in new
    ]
    inserted = writer.insert("contacts", _INSERT, values,
                             " ON CONFLICT (project_id, external_id) DO NOTHING RETURNING id")
    if len(inserted) != len(new):
        raise Race("contacts")


def _write_changes(session: Session, changed: list[_State], now: datetime) -> None:
    if not changed:
        return
    session.execute(
        update(contacts_t).where(_c.id == bindparam("_id")).values(
            external_id=bindparam("_ext"), email=bindparam("_email"),
            email_key=bindparam("_key"), traits=bindparam("_traits", type_=_c.traits.type),
            timezone=bindparam("_tz"), account_id=bindparam("_account"),
            unsubscribed_at=bindparam("_unsub", type_=_c.unsubscribed_at.type),
            unsubscribe_reason=bindparam("_reason"), updated_at=now),
        [{"_id": s.id, "_ext": s.external_id, "_email": s.email, "_key": _key(s.email),
          "_traits": s.traits, "_tz": s.timezone, "_account": s.account_id,
          "_unsub": s.unsubscribed_at, "_reason": s.reason} for s in changed],
    )


def _attach(writer: BulkWriter, table: str, column: str, project_id: uuid.UUID,
            targets: Iterable[uuid.UUID], contact_ids: list[uuid.UUID], now: datetime,
            subscribed: bool) -> None:
    w, pid, at = writer, writer.uuid(project_id), writer.instant(now)
    extra = ("subscribed", "updated_at") if subscribed else ("added_at",)
    tail = (True, at) if subscribed else (at,)
    rows = [(pid, w.uuid(t), w.uuid(c), *tail) for t in targets for c in contact_ids]
    if rows:
        writer.insert(table, ("project_id", column, "contact_id", *extra), rows,
                      " ON CONFLICT DO NOTHING")


def lock_project_imports(session: Session, project_id: uuid.UUID) -> None:
    """On PostgreSQL, one import chunk of a project writes at a time, so two
    imports never both create the same email-only contact (SQLite's write
    lock already serialises them)."""
    if _pg(session):
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                        {"k": f"letter.imports:{project_id}"})


def apply_rows(session: Session, project: Project, rows: list[ContactRow], *,
               update_existing: bool, now: datetime, list_ids: Collection[uuid.UUID] = (),
               topic_ids: Collection[uuid.UUID] = (), trigger_sequences: bool = False) -> Tally:
    """Apply parsed rows in order; returns what happened to them."""
    tally = Tally()
    if not rows:
        return tally
    writer = BulkWriter(session)
    lock = update_existing and _pg(session)
    accounts = _accounts(session, writer, project.id,
                         {r.account for r in rows if r.account is not None}, now)
    by_ext = _load(session, project.id, _c.external_id,
                   {r.external_id for r in rows if r.external_id is not None}, lock=lock)
    keys = {r.key for r in rows if r.key is not None
            and (r.external_id is None or r.external_id not in by_ext)}
    by_key = _load(session, project.id, _c.email_key, keys, lock=lock)
    new, touched = _walk(rows, by_ext, by_key, accounts, update_existing, now, tally)
    if new:
        _insert(writer, project.id, new, now)
    _write_changes(session, [s for s in touched if s.dirty and not s.new], now)
    tally.created_ids = [s.id for s in new]
    subscribe_new_contacts(session, project.id, tally.created_ids)
    touched_ids = [s.id for s in touched]
    _attach(writer, "list_members", "list_id", project.id, list_ids, touched_ids, now, False)
    _attach(writer, "topic_subscriptions", "topic_id", project.id, topic_ids, touched_ids, now,
            True)
    if trigger_sequences and hooks.active():
        for s in new:
            hooks.contact_created(session, project, hooks.IngestedContact(
                s.id, s.external_id, s.email, s.traits, s.timezone, s.account_id, now),
                skip_triggers=False)
    return tally
