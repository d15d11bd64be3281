"""Writing an export: the matching contacts in id order, a page per short
transaction, to a CSV with one column per trait key (nested keys dotted).

The trait columns are known only once every contact has been read. Rows are
written as they are read, under the trait columns seen so far (each page's
new keys sorted and appended); a page that brings new keys starts a new
segment. The header then goes first, the last segment (usually nearly all
the rows) is copied as it is, and only the rows of earlier segments are
rewritten with the empty cells they lack. Memory holds a page and the keys,
whatever the number of contacts.
"""

from __future__ import annotations

import csv
import io
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import (
    Text,
    and_,
    bindparam,
    cast,
    exists,
    select,
    text,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import Session

from letter.audience.models import ContactList, ListMember, Topic, TopicDefault
from letter.clock import iso, utcnow
from letter.contacts.models import Account, Contact
from letter.db.engine import Database
from letter.emails import email_key
from letter.imports.csvout import FORMULA_FIRST, safe, writer
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
    """A trait value as a cell: strings as they are (formula-safe), numbers
    and booleans in their string form, arrays and objects as JSON."""
    kind = type(value)
    if kind is str:
        return safe(value) if value[:1] in FORMULA_FIRST else value
    if value is None:
        return ""
    if kind is int:
        return str(value)
    shown = string_form(value)
    return shown if shown is not None else orjson.dumps(value).decode()


def _flat_cells(traits: dict[str, Any], prefix: str, out: dict[str, str]) -> None:
    # The common kinds inline (a call per value costs as much as the rest).
    for key, value in traits.items():
        kind = type(value)
        if kind is str:
            out[prefix + key] = "'" + value if value[:1] in FORMULA_FIRST else value
        elif kind is int:
            out[prefix + key] = str(value)
        elif kind is bool:
            out[prefix + key] = "true" if value else "false"
        elif kind is dict and value:
            _flat_cells(value, f"{prefix}{key}.", out)
        else:
            out[prefix + key] = _cell(value)


def _cells(traits_json: str | None) -> dict[str, str]:
    """The traits as cells by dotted key (``flatten`` and ``_cell`` in one walk)."""
    out: dict[str, str] = {}
    if traits_json:
        _flat_cells(orjson.loads(traits_json), "", out)
    return out


def _iso(value: Any) -> str:
    """An instant as the API writes it (SQLite hands back its stored text)."""
    if isinstance(value, str):
        return f"{value[:10]}T{value[11:23]}Z"
    return iso(value) or ""


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


OPT_IN = str(TopicDefault.OPT_IN)


def _names(session: Session, project_id: uuid.UUID, ids: list[Any], lists: bool
           ) -> dict[Any, list[str]]:
    """List (or subscribed topic) names by contact, for one page's ids as the
    driver returned them, asked at the driver (an IN list of thousands of
    ids costs more to build in SQLAlchemy than to run)."""
    pg = session.get_bind().dialect.name == "postgresql"
    mark = "%s" if pg else "?"
    if lists:
        sql = ("SELECT m.contact_id, o.name FROM list_members m JOIN lists o ON o.id = m.list_id"
               " WHERE m.project_id = {mark} AND m.contact_id {where} ORDER BY o.name")
    else:
        # Subscribed: a recorded choice to be, or no choice on an opt_in topic.
        sql = ("SELECT c.id, o.name FROM contacts c JOIN topics o ON o.project_id = c.project_id"
               " LEFT JOIN topic_subscriptions m ON m.topic_id = o.id AND m.contact_id = c.id"
               " WHERE c.project_id = {mark} AND c.id {where}"
               f" AND (m.subscribed OR (m.contact_id IS NULL AND o.\"default\" = '{OPT_IN}'))"
               " ORDER BY o.name")
    found: dict[Any, list[str]] = {}
    cur = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    for start in range(0, len(ids), PAGE):
        part = ids[start:start + PAGE]
        where = f"= ANY({mark})" if pg else f"IN ({', '.join([mark] * len(part))})"
        cur.execute(sql.format(mark=mark, where=where),
                    (project_id, part) if pg else (project_id.hex, *part))
        for contact_id, name in cur.fetchall():
            found.setdefault(contact_id, []).append(name)
    return found


def _pages(db: Database, project_id: uuid.UUID, params: dict[str, Any], now: datetime
           ) -> Iterator[list[tuple[Any, ...]]]:
    """Pages of ``((email, external_id, status, created, updated), trait cells,
    (account, lists, topics))``, cells escaped, in (created_at, id) order — the project's
    keyset index — read without the ORM (an export is all rows, no objects)."""
    last: tuple[Any, Any] | None = None
    with db.session() as session:
        has_lists = session.scalar(select(ContactList.id).where(
            ContactList.project_id == project_id).limit(1)) is not None
        has_topics = session.scalar(select(Topic.id).where(
            Topic.project_id == project_id).limit(1)) is not None
    pg = db.engine.dialect.name == "postgresql"

    def raw(column: Any) -> Any:
        # As the driver returns it: no per-value conversion in Python.
        return column if pg else type_coerce(column, Text)

    created, ident = raw(Contact.created_at), raw(Contact.id)
    while True:
        with db.session() as session:
            if pg:
                # A generic plan (psycopg prepares a statement it runs often)
                # cannot seek to this page's keyset position: plan each page.
                session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
            conds = _conditions(session, project_id, params, now)
            if last is not None:
                conds.append(tuple_(created, ident) > tuple_(*(
                    bindparam(None, v, type_=Text) if not pg else v for v in last)))
            stmt = (select(ident, Contact.email, Contact.external_id,
                           raw(Contact.unsubscribed_at), created, raw(Contact.updated_at),
                           cast(Contact.traits, Text) if pg else raw(Contact.traits),
                           Account.external_id)
                    .outerjoin(Account, Account.id == Contact.account_id)
                    .where(and_(*conds)).order_by(Contact.created_at, Contact.id).limit(PAGE))
            rows = session.connection().execute(stmt).all()
            ids = [r[0] for r in rows] if has_lists or has_topics else []
            lists = _names(session, project_id, ids, True) if has_lists and ids else {}
            topics = _names(session, project_id, ids, False) if has_topics and ids else {}
        page = []
        for contact_id, email, external_id, off, made, updated, traits, account in rows:
            page.append((
                (_text(email), _text(external_id), "unsubscribed" if off else "subscribed",
                 _iso(made), _iso(updated)),
                _cells(traits),
                (_text(account), _text("; ".join(lists.get(contact_id, ()))) if lists else "",
                 _text("; ".join(topics.get(contact_id, ()))) if topics else "")))
        yield page
        if len(rows) < PAGE:
            return
        last = (rows[-1][4], rows[-1][0])


def _text(value: str | None) -> str:
    if not value:
        return ""
    return safe(value) if value[:1] in FORMULA_FIRST else value


def write_export(db: Database, project_id: uuid.UUID, params: dict[str, Any], target: Path,
                 now: datetime | None = None) -> int:
    """Write the CSV to ``target``; returns its number of contacts."""
    now = now or utcnow()
    body_path = target.with_suffix(".body")
    keys: list[str] = []
    known: set[str] = set()
    segments: list[tuple[int, int]] = []  # (byte offset in the body, trait columns)
    count = 0
    try:
        with body_path.open("wb") as raw, io.TextIOWrapper(
                raw, encoding="utf-8", newline="") as body:
            out = writer(body)
            for page in _pages(db, project_id, params, now):
                fresh = {k for _, cells, _ in page for k in cells if k not in known}
                if fresh or not segments:
                    keys += sorted(fresh)
                    known |= fresh
                    body.flush()
                    segments.append((raw.tell(), len(keys)))
                order = list(keys)
                # A missing trait is None from dict.get, which csv writes empty.
                out.writerows([*head, *map(cells.get, order), *tail] for head, cells, tail in page)
                count += len(page)
        fixed = set(FIXED_COLUMNS) | set(TAIL_COLUMNS)
        header = [*FIXED_COLUMNS, *(f"traits.{k}" if k in fixed else k for k in keys),
                  *TAIL_COLUMNS]
        with target.open("wb") as final:
            csv_text = io.TextIOWrapper(final, encoding="utf-8", newline="", write_through=True)
            writer(csv_text).writerow(header)
            _copy_segments(body_path, segments, len(keys), csv_text)
            csv_text.detach()
    finally:
        remove(body_path)
    return count


class _Span(io.RawIOBase):
    """The next ``size`` bytes of ``fh``, as a file of their own."""

    def __init__(self, fh: IO[bytes], size: int) -> None:
        self.fh, self.left = fh, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.fh.read(min(len(buffer), self.left))
        buffer[:len(data)] = data
        self.left -= len(data)
        return len(data)


def _copy_segments(body_path: Path, segments: list[tuple[int, int]], width: int,
                   final: io.TextIOWrapper) -> None:
    """The body after the header: rows written under fewer trait columns get
    their empty cells (before the account, lists and topics); the rest is
    copied byte for byte. Both stream: memory stays flat."""
    ends = [start for start, _ in segments[1:]] + [body_path.stat().st_size]
    with body_path.open("rb") as body:
        for (start, columns), end in zip(segments, ends, strict=True):
            body.seek(start)
            if columns == width:
                shutil.copyfileobj(_Span(body, end - start), final.buffer)
                continue
            out, pad = writer(final), [""] * (width - columns)
            span = io.TextIOWrapper(io.BufferedReader(_Span(body, end - start)),
                                    encoding="utf-8", newline="")
            for row in csv.reader(span):
                out.writerow([*row[:-3], *pad, *row[-3:]])


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
