"""Writing an export: the matching contacts in id order, a page per short
transaction, to a CSV with one column per trait key (nested keys dotted).

The trait columns are known only once every contact has been read, so the
rows go first to a scratch file (one JSON array per line) while the keys are
collected, then to the CSV under the full header: memory holds one page and
the set of keys, whatever the number of contacts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Text, and_, cast, exists, or_, select, type_coerce
from sqlalchemy.orm import Session

from letter.audience.models import (
    ContactList,
    ListMember,
    Topic,
    TopicDefault,
    TopicSubscription,
)
from letter.clock import iso, utcnow
from letter.contacts.models import Account, Contact
from letter.db.engine import Database
from letter.emails import email_key
from letter.imports.csvout import safe, writer
from letter.imports.exports import expiry
from letter.imports.models import ExportJob, ExportStatus
from letter.imports.notices import export_ready
from letter.imports.storage import export_path, remove
from letter.segments.compile import compile_filter
from letter.segments.filter import TopicFilter, parse_filter
from letter.segments.models import Segment
from letter.settings import Settings
from letter.values import string_form

__all__ = ["FIXED_COLUMNS", "fail_export", "flatten", "run_export", "write_export"]

PAGE = 5000
FIXED_COLUMNS = ("email", "external_id", "status", "created_at", "updated_at")
TAIL_COLUMNS = ("account", "lists", "topics")


def flatten(traits: dict[str, Any], prefix: str = "", out: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``; arrays and empty objects stay values."""
    out = {} if out is None else out
    for key, value in traits.items():
        if isinstance(value, dict) and value:
            flatten(value, f"{prefix}{key}.", out)
        else:
            out[prefix + key] = value
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe(value)
    text = string_form(value)
    return text if text is not None else orjson.dumps(value).decode()


def _conditions(session: Session, project_id: uuid.UUID, params: dict[str, Any],
                now: datetime) -> list[Any]:
    dialect = session.get_bind().dialect.name
    c = Contact
    conds: list[Any] = [c.project_id == project_id]
    filters = [params["filter"]] if params.get("filter") is not None else []
    if params.get("segment_id"):
        segment = session.scalar(select(Segment.filter).where(
            Segment.project_id == project_id, Segment.id == uuid.UUID(params["segment_id"])))
        if segment is None:
            raise LookupError("The segment of this export was deleted.")
        filters.append(segment)
    conds += [compile_filter(parse_filter(f), project_id, now, dialect) for f in filters]
    if params.get("list_id"):
        conds.append(exists().where(ListMember.project_id == project_id,
                                    ListMember.list_id == uuid.UUID(params["list_id"]),
                                    ListMember.contact_id == c.id))
    if params.get("topic_id"):
        # The topic FilterSpec's rule: a recorded choice wins, else the topic's default.
        spec = TopicFilter(topicId=uuid.UUID(params["topic_id"]), subscribed=True)
        conds.append(compile_filter(spec, project_id, now, dialect))
    if params.get("status") == "subscribed":
        conds.append(c.unsubscribed_at.is_(None))
    elif params.get("status") == "unsubscribed":
        conds.append(c.unsubscribed_at.is_not(None))
    if params.get("email_contains"):
        conds.append(c.email_key.contains(email_key(params["email_contains"]), autoescape=True))
    return conds


def _names(session: Session, project_id: uuid.UUID, ids: list[uuid.UUID], lists: bool
           ) -> dict[uuid.UUID, list[str]]:
    if lists:
        stmt = (select(ListMember.contact_id, ContactList.name)
                .join(ContactList, ContactList.id == ListMember.list_id)
                .where(ListMember.project_id == project_id, ListMember.contact_id.in_(ids)))
    else:
        # Subscribed: a recorded choice to be, or no choice on an opt_in topic.
        choice = and_(TopicSubscription.topic_id == Topic.id,
                      TopicSubscription.contact_id == Contact.id)
        stmt = (select(Contact.id, Topic.name)
                .join(Topic, Topic.project_id == Contact.project_id)
                .outerjoin(TopicSubscription, choice)
                .where(Contact.project_id == project_id, Contact.id.in_(ids),
                       or_(TopicSubscription.subscribed.is_(True),
                           and_(TopicSubscription.contact_id.is_(None),
                                Topic.default == TopicDefault.OPT_IN))))
    found: dict[uuid.UUID, list[str]] = {}
    for contact_id, name in session.execute(stmt.order_by(ContactList.name if lists
                                                          else Topic.name)):
        found.setdefault(contact_id, []).append(name)
    return found


def _pages(db: Database, project_id: uuid.UUID, params: dict[str, Any], now: datetime
           ) -> Iterator[list[list[Any]]]:
    """Pages of ``[email, external_id, status, created, updated, flat traits,
    account, lists, topics]`` in id order."""
    last: uuid.UUID | None = None
    with db.session() as session:
        has_lists = session.scalar(select(ContactList.id).where(
            ContactList.project_id == project_id).limit(1)) is not None
        has_topics = session.scalar(select(Topic.id).where(
            Topic.project_id == project_id).limit(1)) is not None
    while True:
        with db.session() as session:
            pg = session.get_bind().dialect.name == "postgresql"
            traits = cast(Contact.traits, Text) if pg else type_coerce(Contact.traits, Text)
            conds = _conditions(session, project_id, params, now)
            if last is not None:
                conds.append(Contact.id > last)
            stmt = (select(Contact.id, Contact.email, Contact.external_id,
                           Contact.unsubscribed_at, Contact.created_at, Contact.updated_at,
                           traits, Account.external_id)
                    .outerjoin(Account, Account.id == Contact.account_id)
                    .where(and_(*conds)).order_by(Contact.id).limit(PAGE))
            rows = session.execute(stmt).all()
            ids = [r[0] for r in rows]
            lists = _names(session, project_id, ids, True) if has_lists and ids else {}
            topics = _names(session, project_id, ids, False) if has_topics and ids else {}
        yield [[r[1], r[2], "unsubscribed" if r[3] else "subscribed", iso(r[4]), iso(r[5]),
                flatten(orjson.loads(r[6]) if r[6] else {}), r[7],
                "; ".join(lists.get(r[0], ())), "; ".join(topics.get(r[0], ()))]
               for r in rows]
        if len(rows) < PAGE:
            return
        last = rows[-1][0]


def write_export(db: Database, project_id: uuid.UUID, params: dict[str, Any], target: Path,
                 now: datetime | None = None) -> int:
    """Write the CSV to ``target``; returns its number of contacts."""
    now = now or utcnow()
    scratch = target.with_suffix(".rows")
    keys: dict[str, None] = {}
    count = 0
    try:
        with scratch.open("wb") as body:
            for page in _pages(db, project_id, params, now):
                for row in page:
                    keys.update(dict.fromkeys(row[5]))
                    body.write(orjson.dumps(row))
                    body.write(b"\n")
                count += len(page)
        trait_keys = sorted(keys)
        fixed = set(FIXED_COLUMNS) | set(TAIL_COLUMNS)
        header = [*FIXED_COLUMNS, *(f"traits.{k}" if k in fixed else k for k in trait_keys),
                  *TAIL_COLUMNS]
        with target.open("w", encoding="utf-8", newline="") as out, scratch.open("rb") as body:
            csv_out = writer(out)
            csv_out.writerow(header)
            for raw in body:
                row = orjson.loads(raw)
                flat = row[5]
                csv_out.writerow([
                    safe(row[0] or ""), safe(row[1] or ""), row[2], row[3], row[4],
                    *(_cell(flat.get(k)) for k in trait_keys),
                    safe(row[6] or ""), safe(row[7]), safe(row[8])])
    finally:
        remove(scratch)
    return count


def run_export(db: Database, settings: Settings, export_id: uuid.UUID) -> None:
    with db.session() as session:
        export = session.get(ExportJob, export_id)
        if export is None or export.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
            return
        export.status = ExportStatus.RUNNING
        project_id, params = export.project_id, dict(export.params)
    path = export_path(settings.data_dir, export_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    try:
        count = write_export(db, project_id, params, part)
    except LookupError as exc:
        remove(part)
        fail_export(db, settings, export_id, str(exc))
        return
    part.replace(path)
    with db.session() as session:
        export = session.get(ExportJob, export_id)
        if export is None:
            remove(path)
            return
        now = utcnow()
        export.status, export.row_count = ExportStatus.COMPLETED, count
        export.size_bytes, export.finished_at = path.stat().st_size, now
        export.expires_at, export.updated_at = expiry(now), now
        session.flush()
        export_ready(session, export, settings)


def fail_export(db: Database, settings: Settings, export_id: uuid.UUID, message: str) -> None:
    with db.session() as session:
        export = session.get(ExportJob, export_id)
        if export is None or export.status == ExportStatus.COMPLETED:
            return
        now = utcnow()
        export.status, export.error, export.finished_at = ExportStatus.FAILED, message, now
        export.updated_at = now
        session.flush()
        export_ready(session, export, settings)
