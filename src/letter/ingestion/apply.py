"""Apply a list of validated items to the database with set-based SQL.

The items are walked in order in memory, so the outcome is exactly that of
applying them one by one, but the database sees a handful of statements per
batch whatever its size: one upsert of message receipts, one select of the
accounts and one of the contacts involved (row-locked on PostgreSQL so deep
merges are atomic), bulk inserts of what is new, bulk updates of what changed,
one update linking earlier events to contacts created now (and their opt-in
topic subscriptions), one insert of the events.

A new contact or account raced in by a concurrent request surfaces as an
insert that did not happen (``ON CONFLICT DO NOTHING``); ``Race`` is raised
and the caller re-runs the batch, which then merges into the committed row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from letter.audience.service import subscribe_new_contacts
from letter.contacts.models import Event, MessageReceipt
from letter.db.bulk import CHUNK, BulkWriter
from letter.emails import email_key
from letter.ids import uuid7
from letter.ingestion import hooks
from letter.ingestion.lookup import (
    Row,
    accounts_t,
    contacts_t,
    load,
    load_email_only,
)
from letter.ingestion.merge import deep_merge
from letter.ingestion.parse import Item
from letter.projects.models import Project

__all__ = ["RECEIPT_RETENTION", "Outcome", "Race", "apply_items"]

RECEIPT_RETENTION = timedelta(days=30)

events_t: Table = Event.__table__  # type: ignore[assignment]
receipts_t: Table = MessageReceipt.__table__  # type: ignore[assignment]


class Race(Exception):
    """A concurrent request created a row this batch meant to create."""


@dataclass(frozen=True, slots=True)
class Outcome:
    accepted: int
    duplicates: int
    # The ``index`` of each item applied (not a duplicate).
    applied: frozenset[int] = frozenset()


def _locks(session: Session) -> bool:
    # SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL needs row locks.
    return session.get_bind().dialect.name == "postgresql"


def claim_receipts(
    writer: BulkWriter, project_id: uuid.UUID, items: list[Item], now: datetime
) -> tuple[list[Item], int]:
    """Drop items whose ``message_id`` was seen within the retention window
    (in the database or earlier in this batch); record the others."""
    fresh: list[Item] = []
    by_id: dict[str, Item] = {}
    duplicates = 0
    for item in items:
        if item.message_id is None:
            fresh.append(item)
        elif item.message_id in by_id:
            duplicates += 1
        else:
            by_id[item.message_id] = item
    if not by_id:
        return fresh, duplicates
    pid, at = writer.uuid(project_id), writer.instant(now)
    # Sorted, so concurrent batches take the unique-index locks in the same order.
    rows = [(pid, m, at) for m in sorted(by_id)]
    # A receipt past retention that the pruner has not removed yet counts as new.
    claimed = writer.insert(
        "message_receipts",
        ("project_id", "message_id", "received_at"),
        rows,
        " ON CONFLICT (project_id, message_id) DO UPDATE SET received_at = excluded.received_at"
        f" WHERE message_receipts.received_at < {writer.mark} RETURNING message_id",
        (writer.instant(now - RECEIPT_RETENTION),),
    )
    duplicates += len(by_id) - len(claimed)
    fresh += [by_id[m] for (m,) in claimed]
    fresh.sort(key=lambda item: item.index)
    return fresh, duplicates


def _merge_traits(state: Row, incoming: dict[str, Any]) -> None:
    if incoming:
        merged = deep_merge(state.traits, incoming)
        if merged != state.traits:
            state.traits = merged
            state.dirty = True


def _walk(
    items: list[Item],
    contacts: dict[str, Row],
    accounts: dict[str, Row],
    project_id: uuid.UUID,
    now: datetime,
    skip_triggers: bool,
) -> list[dict[str, Any]]:
    """Apply the items in order to the in-memory rows; returns the event rows."""
    events: list[dict[str, Any]] = []
    for item in items:
        user = item.user_id
        if item.kind == "track":
            assert user is not None and item.event is not None
            contact = contacts.get(user)
            events.append({
                "id": uuid7(),
                "project_id": project_id,
                "name": item.event,
                "properties": item.properties,
                "contact_id": contact.id if contact else None,
                "account_id": contact.account_id if contact else None,
                "external_user_id": user,
                "occurred_at": item.timestamp or now,
                "skip_triggers": skip_triggers,
                "created_at": now,
            })
        elif item.kind == "identify":
            assert user is not None
            contact = contacts.get(user)
            if contact is None:
                contact = Row(uuid7(), user, {}, True, item.timestamp or now, dirty=True)
                contacts[user] = contact
            _merge_traits(contact, item.traits)
            if item.email is not None and item.email != contact.email:
                contact.email, contact.dirty = item.email, True
            if item.timezone is not None and item.timezone != contact.timezone:
                contact.timezone, contact.dirty = item.timezone, True
        else:
            assert item.account_id is not None
            account = accounts.get(item.account_id)
            if account is None:
                account = Row(uuid7(), item.account_id, {}, True, now, dirty=True)
                accounts[item.account_id] = account
            _merge_traits(account, item.traits)
            if item.name is not None and item.name != account.name:
                account.name, account.dirty = item.name, True
            contact = contacts.get(user) if user is not None else None
            if contact is not None and contact.account_id != account.id:
                contact.account_id, contact.dirty = account.id, True
    # A track before the identify that created its contact is linked, as a
    # later identify links any earlier event of that user.
    for event in events:
        if event["contact_id"] is None:
            created = contacts.get(event["external_user_id"])
            if created is not None:
                event["contact_id"] = created.id
    return events


def _key(email: str | None) -> str | None:
    return None if email is None else email_key(email)


def _write_rows(
    writer: BulkWriter,
    table: Table,
    project_id: uuid.UUID,
    rows: dict[str, Row],
    now: datetime,
) -> list[Row]:
    """Insert the new rows and update the changed ones; returns the inserted."""
    new = sorted((r for r in rows.values() if r.new), key=lambda r: r.external_id)
    changed = [r for r in rows.values() if r.dirty and not r.new]
    is_contact = table is contacts_t
    if new:
        w, pid, at = writer, writer.uuid(project_id), writer.instant(now)
        columns = ["id", "project_id", "external_id", "traits", "created_at", "updated_at"]
        columns += ["email", "email_key", "timezone", "account_id"] if is_contact else ["name"]
        values = [
            (w.uuid(r.id), pid, r.external_id, w.json(r.traits), w.instant(r.created_at), at,
             *((r.email, _key(r.email), r.timezone, w.uuid(r.account_id)) if is_contact
               else (r.name,)))
            for r in new
        ]
        inserted = writer.insert(
            table.name,
            columns,
            values,
            " ON CONFLICT (project_id, external_id) DO NOTHING RETURNING external_id",
        )
        if len(inserted) != len(new):
            raise Race(table.name)
    if changed:
        w, at = writer, writer.instant(now)
        sets: tuple[str, ...]
        updates: list[tuple[Any, ...]]
        if is_contact:
            # external_id changes when an identify claims an email-only contact.
            sets = ("traits", "updated_at", "external_id", "email", "email_key", "timezone",
                    "account_id")
            updates = [
                (w.json(r.traits), at, r.external_id, r.email, _key(r.email), r.timezone,
                 w.uuid(r.account_id), w.uuid(r.id))
                for r in changed
            ]
        else:
            sets = ("traits", "updated_at", "name")
            updates = [(w.json(r.traits), at, r.name, w.uuid(r.id)) for r in changed]
        writer.update_by_id(table.name, sets, updates)
    return new


EVENT_COLUMNS = (
    "id", "project_id", "name", "properties", "contact_id", "account_id",
    "external_user_id", "occurred_at", "skip_triggers", "created_at",
)


def _insert_events(writer: BulkWriter, events: list[dict[str, Any]]) -> None:
    w = writer
    values = [
        (w.uuid(e["id"]), w.uuid(e["project_id"]), e["name"], w.json(e["properties"]),
         w.uuid(e["contact_id"]), w.uuid(e["account_id"]), e["external_user_id"],
         w.instant(e["occurred_at"]), e["skip_triggers"], w.instant(e["created_at"]))
        for e in events
    ]
    writer.insert("events", EVENT_COLUMNS, values)


def _link_earlier_events(writer: BulkWriter, project_id: uuid.UUID, created: list[Row]) -> None:
    """Events stored before their user was identified get the new contact."""
    if not created:
        return
    m = writer.mark
    users = [c.external_id for c in created]
    for start in range(0, len(users), CHUNK):
        chunk = users[start:start + CHUNK]
        writer.execute(
            "UPDATE events SET contact_id = (SELECT contacts.id FROM contacts"
            " WHERE contacts.project_id = events.project_id"
            " AND contacts.external_id = events.external_user_id)"
            f" WHERE events.project_id = {m} AND events.contact_id IS NULL"
            f" AND events.external_user_id IN ({', '.join([m] * len(chunk))})",
            (writer.uuid(project_id), *chunk),
        )


def _claims(items: list[Item], contacts: dict[str, Row]) -> dict[str, str]:
    """``user id -> email key`` for each user this batch creates whose first
    identify carries an email: an email-only contact with that address
    becomes that user (the first such identify claims it)."""
    claims: dict[str, str] = {}
    seen: set[str] = set()
    for item in items:
        user = item.user_id
        if item.kind != "identify" or user is None or user in contacts or user in seen:
            continue
        seen.add(user)
        if item.email is not None:
            claims[user] = email_key(item.email)
    return claims


def _claim(session: Session, project_id: uuid.UUID, items: list[Item],
           contacts: dict[str, Row], lock: bool) -> list[Row]:
    claims = _claims(items, contacts)
    if not claims:
        return []
    found = load_email_only(session, project_id, set(claims.values()), lock=lock)
    claimed = []
    for user, key in claims.items():
        row = found.pop(key, None)
        if row is not None:
            row.external_id, row.claimed, row.dirty = user, True, True
            contacts[user] = row
            claimed.append(row)
    return claimed


def apply_items(
    session: Session, project: Project, items: list[Item], *, skip_triggers: bool, now: datetime
) -> Outcome:
    """Apply validated items in order; duplicates (by message_id) are skipped."""
    writer = BulkWriter(session)
    fresh, duplicates = claim_receipts(writer, project.id, items, now)
    account_ids = {i.account_id for i in fresh if i.kind == "group" and i.account_id}
    user_ids = {i.user_id for i in fresh if i.user_id is not None}
    full = any(i.kind != "track" for i in fresh)
    lock = full and _locks(session)
    accounts = load(session, accounts_t, project.id, account_ids, lock=lock, full=True)
    contacts = load(session, contacts_t, project.id, user_ids, lock=lock, full=full)
    claimed = _claim(session, project.id, fresh, contacts, lock) if full else []
    events = _walk(fresh, contacts, accounts, project.id, now, skip_triggers)
    _write_rows(writer, accounts_t, project.id, accounts, now)
    created = _write_rows(writer, contacts_t, project.id, contacts, now)
    if created or claimed:
        # The one place the contacts this batch created (or claimed) are known.
        _link_earlier_events(writer, project.id, created + claimed)
    if created:
        subscribe_new_contacts(session, project.id, [c.id for c in created])
    if events:
        _insert_events(writer, events)
    if hooks.active():
        _notify(session, project, created, events, skip_triggers)
    return Outcome(len(fresh), duplicates, frozenset(i.index for i in fresh))


def _notify(
    session: Session,
    project: Project,
    created: list[Row],
    events: list[dict[str, Any]],
    skip_triggers: bool,
) -> None:
    if created:
        contacts = [
            hooks.IngestedContact(
                c.id, c.external_id, c.email, c.traits, c.timezone, c.account_id, c.created_at
            )
            for c in created
        ]
        hooks.contacts_created(session, project, contacts, skip_triggers)
    if events:
        inserted = [
            hooks.IngestedEvent(
                e["id"], e["name"], e["properties"], e["contact_id"], e["account_id"],
                e["external_user_id"], e["occurred_at"], e["created_at"],
            )
            for e in events
        ]
        hooks.events_inserted(session, project, inserted, skip_triggers)
