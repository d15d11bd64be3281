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

Rows arrive as :data:`letter.imports.rows.WireRow` tuples, each with the id
it gets if it is new and its traits as JSON text. A chunk of rows that are
all new and all distinct (a first import) goes straight to the INSERT; any
other chunk is walked row by row in memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, text, update
from sqlalchemy.orm import Session

from letter.audience.service import subscribe_new_contacts
from letter.db.bulk import BulkWriter
from letter.emails import email_key
from letter.imports.lookup import State, accounts, any_email_only, contacts_t, cursor, load, pg
from letter.imports.rows import WireRow
from letter.ingestion import hooks
from letter.ingestion.merge import deep_merge
from letter.projects.models import Project

__all__ = ["IMPORT_REASON", "Race", "Tally", "apply_rows", "lock_project_imports"]

IMPORT_REASON = "import"
INSERT_BATCH = 500  # rows per INSERT statement
_c = contacts_t.c
_INSERT = ("id", "project_id", "external_id", "email", "email_key", "traits", "timezone",
           "account_id", "unsubscribed_at", "unsubscribe_reason", "created_at", "updated_at")
_PG_TYPES = ("uuid", "uuid", "text", "text", "text", "jsonb", "text", "uuid", "timestamptz",
             "text", "timestamptz", "timestamptz")


class Race(Exception):
    """A concurrent writer created a contact this chunk meant to create: the
    chunk is rolled back and applied again."""


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    skipped: int = 0


class _Ids(Collection[uuid.UUID]):
    """Contact ids given as hex, made UUIDs only if someone reads them (opt-in
    topics, lists, sequences): most chunks never need them."""

    def __init__(self, hexes: list[str]) -> None:
        self.hexes = hexes
        self._ids: list[uuid.UUID] | None = None

    def _all(self) -> list[uuid.UUID]:
        if self._ids is None:
            self._ids = [uuid.UUID(hex=h) for h in self.hexes]
        return self._ids

    def __len__(self) -> int:
        return len(self.hexes)

    def __iter__(self) -> Iterator[uuid.UUID]:
        return iter(self._all())

    def __contains__(self, item: object) -> bool:
        return item in self._all()


def _update(state: State, row: WireRow, account_id: uuid.UUID | None, claim: bool,
            now: datetime) -> None:
    _, external_id, email, _, unsubscribed, zone, _, traits_json = row
    if claim:
        state.external_id, state.dirty = external_id, True
    if external_id is not None and email is not None and email != state.email:
        state.email, state.dirty = email, True
    traits = orjson.loads(traits_json)
    if traits:
        merged = deep_merge(state.traits, traits)
        if merged != state.traits:
            state.traits, state.dirty = merged, True
    if zone is not None and zone != state.timezone:
        state.timezone, state.dirty = zone, True
    if account_id is not None and account_id != state.account_id:
        state.account_id, state.dirty = account_id, True
    if unsubscribed and state.unsubscribed_at is None:
        state.unsubscribed_at, state.reason, state.dirty = now, IMPORT_REASON, True
    elif unsubscribed is False and state.reason == IMPORT_REASON:
        state.unsubscribed_at, state.reason, state.dirty = None, None, True


def _walk(rows: Sequence[WireRow], by_ext: dict[str, State], by_key: dict[str, State],
          account_ids: dict[str, uuid.UUID], update_existing: bool, now: datetime,
          tally: Tally) -> tuple[list[State], list[State]]:
    """Apply the rows in order in memory; returns the new and the touched states."""
    new: list[State] = []
    touched: dict[int, State] = {}  # by id(): hashing UUIDs costs more
    for row in rows:
        hexid, external_id, email, key, unsubscribed, zone, account, traits = row
        state = None
        claim = False
        if external_id is not None:
            state = by_ext.get(external_id)
            if state is None and key is not None:
                candidate = by_key.get(key)
                if candidate is not None and candidate.external_id is None:
                    state, claim = candidate, True
        elif key is not None:
            state = by_key.get(key)
        account_id = account_ids.get(account) if account is not None else None
        if state is None:
            state = State(uuid.UUID(hex=hexid), external_id, email, orjson.loads(traits), zone,
                          account_id, now if unsubscribed else None,
                          IMPORT_REASON if unsubscribed else None, now, True)
            if external_id is not None:
                by_ext[external_id] = state
            if key is not None and key not in by_key:
                by_key[key] = state
            new.append(state)
            touched[id(state)] = state
            tally.created += 1
            continue
        if not update_existing:
            tally.skipped += 1
            continue
        tally.updated += 1
        _update(state, row, account_id, claim, now)
        if claim and external_id is not None:
            by_ext[external_id] = state
        touched[id(state)] = state
    return new, list(touched.values())


def _key(email: str | None) -> str | None:
    return None if email is None else email_key(email)


def _state_values(writer: BulkWriter, project_id: uuid.UUID, new: list[State], now: datetime
                  ) -> list[tuple[Any, ...]]:
    w, pid, at = writer, writer.uuid(project_id), writer.instant(now)
    return [(w.uuid(s.id), pid, s.external_id, s.email, _key(s.email),
             orjson.dumps(s.traits).decode(), s.timezone, w.uuid(s.account_id),
             at if s.unsubscribed_at else None, s.reason, at, at) for s in new]


def _row_values(writer: BulkWriter, project_id: uuid.UUID, rows: Sequence[WireRow],
                account_ids: dict[str, uuid.UUID], now: datetime) -> list[tuple[Any, ...]]:
    """New contacts straight from the rows (a suppression, if any, is of now)."""
    pid, at = writer.uuid(project_id), writer.instant(now)
    accounts_of = {ext: writer.uuid(ident) for ext, ident in account_ids.items()}
    return [(hexid, pid, ext, email, key, traits, zone,
             accounts_of[account] if account is not None else None,
             at if unsub else None, IMPORT_REASON if unsub else None, at, at)
            for hexid, ext, email, key, unsub, zone, account, traits in rows]


def _insert(session: Session, writer: BulkWriter, values: list[tuple[Any, ...]]) -> None:
    # At the driver, with the count of rows written instead of RETURNING them:
    # a row not written is one a concurrent writer created first.
    cur = cursor(session)
    head = f"INSERT INTO contacts ({', '.join(_INSERT)}) "
    tail = " ON CONFLICT (project_id, external_id) DO NOTHING"
    written = 0
    if not writer.sqlite:
        # One array per column: a statement of twelve parameters, whatever
        # the number of rows (psycopg parses a long statement on every call),
        # sent in binary (%b: psycopg escapes text arrays in Python).
        columns = [list(column) for column in zip(*values, strict=True)]
        cur.execute(head + "SELECT * FROM unnest(" + ", ".join(
            f"%b::{kind}[]" for kind in _PG_TYPES) + ")" + tail, columns)
        written = cur.rowcount
    else:
        one = "(" + ", ".join(["?"] * len(_INSERT)) + ")"
        for start in range(0, len(values), INSERT_BATCH):
            part = values[start:start + INSERT_BATCH]
            cur.execute(head + "VALUES " + ", ".join([one] * len(part)) + tail,
                        [v for row in part for v in row])
            written += cur.rowcount
    if written != len(values):
        raise Race("contacts")


def _write_changes(session: Session, changed: list[State], now: datetime) -> None:
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
            targets: Iterable[uuid.UUID], contact_ids: Collection[uuid.UUID], now: datetime,
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
    if pg(session):
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                        {"k": f"letter.imports:{project_id}"})


def _all_distinct(values: list[str]) -> bool:
    return len(set(values)) == len(values)


def apply_rows(session: Session, project: Project, rows: Sequence[WireRow], *,
               update_existing: bool, now: datetime, list_ids: Collection[uuid.UUID] = (),
               topic_ids: Collection[uuid.UUID] = (), trigger_sequences: bool = False) -> Tally:
    """Apply parsed rows in order; returns what happened to them."""
    tally = Tally()
    if not rows:
        return tally
    writer = BulkWriter(session)
    lock = update_existing and pg(session)
    names: set[str] = set()
    external_ids: list[str] = []
    all_keys: list[str] = []
    for _, external_id, _, key, _, _, account, _ in rows:
        if account is not None:
            names.add(account)
        if external_id is not None:
            external_ids.append(external_id)
        if key is not None:
            all_keys.append(key)
    account_ids = accounts(session, writer, project.id, names, now)
    by_ext = load(session, project.id, _c.external_id, set(external_ids), lock=lock)
    # An email finds a contact for a row without an external id; for a row
    # whose external id is new, only an email-only contact it could claim.
    claims = any_email_only(session, project.id)
    keys = {key for _, external_id, _, key, _, _, _, _ in rows if key is not None and (
        external_id is None or (claims and external_id not in by_ext))}
    by_key = load(session, project.id, _c.email_key, keys, lock=lock)
    created: Collection[uuid.UUID]
    touched_ids: Collection[uuid.UUID]
    fast = not by_ext and not by_key and _all_distinct(external_ids) and _all_distinct(all_keys)
    if fast:
        # Every row is a new contact of its own.
        _insert(session, writer, _row_values(writer, project.id, rows, account_ids, now))
        tally.created = len(rows)
        created = touched_ids = _Ids([r[0] for r in rows])
        new: list[State] = []
    else:
        new, touched = _walk(rows, by_ext, by_key, account_ids, update_existing, now, tally)
        if new:
            _insert(session, writer, _state_values(writer, project.id, new, now))
        _write_changes(session, [s for s in touched if s.dirty and not s.new], now)
        created = [s.id for s in new]
        touched_ids = [s.id for s in touched]
    subscribe_new_contacts(session, project.id, created)
    _attach(writer, "list_members", "list_id", project.id, list_ids, touched_ids, now, False)
    _attach(writer, "topic_subscriptions", "topic_id", project.id, topic_ids, touched_ids, now,
            True)
    if trigger_sequences and hooks.active():
        for contact in _ingested(rows if fast else [], new, account_ids, now):
            hooks.contact_created(session, project, contact, skip_triggers=False)
    return tally


def _ingested(rows: Sequence[WireRow], new: list[State], account_ids: dict[str, uuid.UUID],
              now: datetime) -> list[hooks.IngestedContact]:
    """The contacts a chunk created, as the sequence engine hears of them."""
    if new:
        return [hooks.IngestedContact(s.id, s.external_id, s.email, s.traits, s.timezone,
                                      s.account_id, now) for s in new]
    return [hooks.IngestedContact(uuid.UUID(hex=hexid), ext, email, orjson.loads(traits), zone,
                                  account_ids.get(account) if account else None, now)
            for hexid, ext, email, _, _, zone, account, traits in rows]
