"""Reading an export: the matching contacts a page per short transaction, in
the project's ``(created_at, id)`` keyset order, as CSV-ready columns.

Shaped by bench/export.py (DESIGN §8: >= 100,000 rows/s, flat memory):

- the database hands back text: the status word, ids, the traits as JSON,
  timestamps in the API's form (PostgreSQL) or as stored (SQLite, sliced
  here) — no datetime, UUID or ORM object per value, no SQLAlchemy result
  processor;
- the fixed columns are tested for formula starts a whole column at a time
  (one regex over the column's joined text) and escaped value by value only
  where that test hits;
- the traits are decoded by orjson and flattened and made cells in one walk;
- list and subscribed-topic names come with the page's rows on PostgreSQL
  and from one query each per page on SQLite, both by index probes per
  contact (``exportnames``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    DateTime,
    Text,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal_column,
    select,
    text,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import Session

from letter.audience.models import ListMember
from letter.contacts.models import Account, Contact
from letter.db.engine import Database
from letter.emails import email_key
from letter.imports.csvout import FORMULA_FIRST, safe
from letter.imports.exportnames import (
    Named,
    named,
    pg_lists,
    pg_topics,
    sqlite_lists,
    sqlite_topics,
)
from letter.segments.compile import compile_filter
from letter.segments.filter import TopicFilter, parse_filter
from letter.segments.models import Segment
from letter.values import string_form

__all__ = ["Keyset", "Page", "boundaries", "cell", "flatten", "pages"]

# A value that a spreadsheet would run: it starts with one of FORMULA_FIRST.
# Over a column joined with "\n", every value starts at a line start; a hit
# inside a value (after an embedded newline) only costs the slow path.
_COLUMN_RISK = re.compile(r"^[=+\-@\t\r]", re.MULTILINE)


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


def cell(value: Any) -> str:
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


# ``flatten`` and ``cell`` in one walk, with the common kinds inline (a call
# per value costs as much as the rest). Cells may stay int or None: the csv
# writer writes str(int) and None as an empty cell, the same text ``cell``
# gives. (Testing each string's first character costs less than a regex over
# the page's JSON that would let clean pages skip it: measured.)

def _walk(traits: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in traits.items():
        kind = type(value)
        if kind is str:
            out[prefix + key] = "'" + value if value[:1] in FORMULA_FIRST else value
        elif kind is int or value is None:
            out[prefix + key] = value
        elif kind is bool:
            out[prefix + key] = "true" if value else "false"
        elif kind is dict and value:
            _walk(value, f"{prefix}{key}.", out)
        else:
            out[prefix + key] = cell(value)


def _top(traits: dict[str, Any]) -> dict[str, Any]:
    # _walk at the top level, where most keys are and need no prefix.
    out: dict[str, Any] = {}
    for key, value in traits.items():
        kind = type(value)
        if kind is str:
            out[key] = "'" + value if value[:1] in FORMULA_FIRST else value
        elif kind is int or value is None:
            out[key] = value
        elif kind is bool:
            out[key] = "true" if value else "false"
        elif kind is dict and value:
            _walk(value, key + ".", out)
        else:
            out[key] = cell(value)
    return out


def _trait_cells(texts: Sequence[str | None]) -> list[dict[str, Any]]:
    """Each contact's traits as cells by dotted key."""
    loads = orjson.loads
    return [_top(loads(raw)) if raw else {} for raw in texts]


def _escaped(column: Sequence[str | None]) -> Sequence[str | None]:
    """The column with every value that starts like a formula prefixed with ``'``."""
    if _COLUMN_RISK.search("\n".join(filter(None, column))) is None:
        return column
    return [safe(v) if v and v[:1] in FORMULA_FIRST else v for v in column]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of contacts as columns (None is an empty cell)."""

    head: list[Sequence[Any]]  # email, external_id, status, created_at, updated_at
    traits: list[dict[str, Any]]  # per contact: trait cells by dotted key
    tail: list[Sequence[Any]]  # account, lists, topics

    def __len__(self) -> int:
        return len(self.traits)


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


def _keyset_columns(pg: bool) -> tuple[Any, Any]:
    """The id and the stored created_at, as text."""
    c = Contact
    if pg:
        return cast(c.id, Text), cast(c.created_at, Text)
    return type_coerce(c.id, Text), type_coerce(c.created_at, Text)


def _columns(pg: bool, lists: Named, topics: Named) -> tuple[list[Any], Any, Any]:
    """The page's columns as text: email, external_id, status, created_at,
    updated_at (in the API's form on PostgreSQL, as stored on SQLite),
    traits, account, and on PostgreSQL lists and topics; then the keyset:
    the id and the stored created_at."""
    c = Contact
    ident, created = _keyset_columns(pg)
    traits: Any
    if pg:
        def iso(column: Any) -> Any:
            # Truncated to milliseconds, as datetime.isoformat(timespec="milliseconds").
            return func.to_char(func.timezone(literal_column("'UTC'"), column),
                                literal_column("""'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'"""),
                                type_=Text)
        traits = cast(c.traits, Text)
    else:
        def iso(column: Any) -> Any:
            # As stored; _page slices it (cheaper in Python than in SQLite's VM: measured).
            return type_coerce(column, Text)
        traits = type_coerce(c.traits, Text)
    status = case((c.unsubscribed_at.is_(None), literal_column("'subscribed'", Text)),
                  else_=literal_column("'unsubscribed'", Text))
    names = [pg_lists(lists), pg_topics(topics)] if pg else []
    # The account by a scalar subquery, not a join: with a join and no
    # statistics yet (a freshly loaded project), PostgreSQL sorted every
    # remaining contact of the project on every page instead of reading
    # the keyset index in order.
    account = (select(Account.external_id).where(Account.id == c.account_id)
               .correlate(Contact).scalar_subquery())
    return ([c.email, c.external_id, status, iso(c.created_at), iso(c.updated_at), traits,
             account, *names], ident, created)


def _page(rows: Sequence[Sequence[Any]], lists: dict[str, str] | None,
          topics: dict[str, str] | None, pg: bool) -> Page:
    """The rows (id, created_at as stored, then the columns of ``_columns``)
    as columns; on SQLite ``lists`` and ``topics`` by contact id (None when
    the project has none)."""
    if not rows:
        return Page(head=[()] * 5, traits=[], tail=[()] * 3)
    cols: list[Sequence[Any]] = list(zip(*rows, strict=True))
    ids, nothing = cols[0], (None,) * len(rows)
    if pg:  # the names came with the rows
        names = [_escaped(cols[9]), _escaped(cols[10])]
    else:
        names = [nothing if found is None else _escaped(list(map(found.get, ids)))
                 for found in (lists, topics)]
    if not pg:
        # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff': the date, 'T', to the milliseconds.
        cols[5:7] = [[f"{v[:10]}T{v[11:23]}Z" for v in col] for col in cols[5:7]]
    return Page(head=[_escaped(cols[2]), _escaped(cols[3]), *cols[4:7]],
                traits=_trait_cells(cols[7]), tail=[_escaped(cols[8]), *names])


Keyset = tuple[str, str]  # (id, created_at) as the page query reads them


def _keyset_after(pg: bool, ident: Any, created: Any, at: Keyset, until: bool = False) -> Any:
    """``(created_at, id) > at`` (or ``<=`` with ``until``), as each database
    can seek it in the keyset index."""
    at_id, at_created = (bindparam(None, v, type_=Text) for v in at)
    left = tuple_(Contact.created_at, Contact.id) if pg else tuple_(created, ident)
    right = (tuple_(cast(at_created, DateTime(timezone=True)), cast(at_id, Uuid())) if pg
             else tuple_(at_created, at_id))
    return left <= right if until else left > right


def _plan_each(session: Session, pg: bool, in_index_order: bool = False) -> None:
    if not pg:
        return
    # A generic plan (psycopg prepares a statement it runs often)
    # cannot seek to this page's keyset position: plan each page.
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    if in_index_order:
        # Without statistics (a freshly loaded project) PostgreSQL expects a
        # few rows and sorts every remaining contact to skip ``span`` of
        # them (0.6 s a step at 1 M); the keyset index gives them in order.
        session.execute(text("SELECT set_config('enable_sort', 'off', true),"
                             " set_config('enable_bitmapscan', 'off', true)"))


def boundaries(db: Database, project_id: uuid.UUID, params: dict[str, Any], now: datetime,
               span: int) -> Iterator[Keyset]:
    """The keyset of every ``span``-th matching contact, in order: the ends
    of ranges of ``span`` contacts that part writers can take in parallel.
    Each step reads the keyset index (and the filter's columns) only."""
    pg = db.dialect == "postgresql"
    ident, created = _keyset_columns(pg)
    last: Keyset | None = None
    while True:
        with db.reading() as session:
            _plan_each(session, pg, in_index_order=True)
            conds = _conditions(session, project_id, params, now)
            if last is not None:
                conds.append(_keyset_after(pg, ident, created, last))
            row = session.connection().execute(
                select(ident, created).select_from(Contact).where(and_(*conds))
                .order_by(Contact.created_at, Contact.id).offset(span - 1).limit(1)).first()
        if row is None:
            return
        last = (row[0], row[1])
        yield last


def pages(db: Database, project_id: uuid.UUID, params: dict[str, Any], now: datetime,
          size: int, after: Keyset | None = None, until: Keyset | None = None
          ) -> Iterator[Page]:
    """The matching contacts after the keyset ``after`` up to ``until``
    (both ends from ``boundaries``; None: the start, the end), ``size`` a
    page (one short transaction each); at least one page, maybe empty."""
    with db.reading() as session:
        lists_of, topics_of = named(session, project_id)
    pg = db.dialect == "postgresql"
    columns, ident, created = _columns(pg, lists_of, topics_of)
    last = after
    while True:
        lists = topics = None
        with db.reading() as session:
            _plan_each(session, pg)
            conds = _conditions(session, project_id, params, now)
            if last is not None:
                conds.append(_keyset_after(pg, ident, created, last))
            if until is not None:
                conds.append(_keyset_after(pg, ident, created, until, until=True))
            stmt = (select(ident, created, *columns).select_from(Contact)
                    .where(and_(*conds)).order_by(Contact.created_at, Contact.id).limit(size))
            rows = session.connection().execute(stmt).all()
            if not pg and rows:
                ids = [row[0] for row in rows]
                if lists_of.any:
                    lists = sqlite_lists(session, project_id, ids)
                if topics_of.any:
                    topics = sqlite_topics(session, project_id, ids)
        # Formatting outside the transaction: it holds no snapshot longer than the reads.
        yield _page(rows, lists, topics, pg)
        if len(rows) < size:
            return
        last = (rows[-1][0], rows[-1][1])
