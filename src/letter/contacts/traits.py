"""The traits summary: distinct top-level trait keys of a project's contacts
and accounts, with the most common JSON type, how many records carry the key
and a sample value (in its string form, as filters compare).

The database does the work (``jsonb_each`` / ``json_each`` grouped by key and
type), so the cost is one scan of the project's rows and the answer is a few
rows per key, never the contacts themselves.

>>> summarise_traits(session, project.id, PageParams()).items    # doctest: +SKIP
[TraitSummary(key='plan', scope='contact', type='string', count=142, sample='free'), ...]
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.orm import Session

from letter.db.pagination import PageParams, PageResult, paginate_sorted

__all__ = ["TraitSummary", "summarise_traits"]

_POSTGRES = """
SELECT e.key AS key, jsonb_typeof(e.value) AS type, count(*) AS n, min(e.value #>> '{{}}') AS sample
FROM {table} AS r CROSS JOIN LATERAL jsonb_each(r.traits) AS e
WHERE r.project_id = :project_id AND jsonb_typeof(r.traits) = 'object'
GROUP BY e.key, jsonb_typeof(e.value)
"""

_SQLITE = """
SELECT j.key AS key, j.type AS type, count(*) AS n,
       min(CASE WHEN j.type IN ('true', 'false') THEN j.type
                WHEN j.type = 'null' THEN NULL
                ELSE CAST(j.value AS TEXT) END) AS sample
FROM {table} AS r, json_each(r.traits) AS j
WHERE r.project_id = :project_id AND json_type(r.traits) = 'object'
GROUP BY j.key, j.type
"""

# SQLite's json_each types, in JSON's own vocabulary (what jsonb_typeof says).
_JSON_TYPE = {"true": "boolean", "false": "boolean", "integer": "number", "real": "number",
              "text": "string"}


@dataclass(frozen=True)
class TraitSummary:
    key: str
    scope: str
    type: str
    count: int
    sample: str | None


@dataclass
class _Tally:
    count: int = 0
    by_type: dict[str, tuple[int, str | None]] | None = None


def _scan(session: Session, table: str, project_id: uuid.UUID,
          newest: int | None = None) -> dict[str, _Tally]:
    dialect = session.get_bind().dialect.name
    source = table if newest is None else (
        f"(SELECT project_id, traits FROM {table} WHERE project_id = :project_id"
        f" ORDER BY created_at DESC, id DESC LIMIT {int(newest)})")
    sql = (_POSTGRES if dialect == "postgresql" else _SQLITE).format(table=source)
    stmt = text(sql).bindparams(bindparam("project_id", project_id, type_=Uuid()))
    tallies: dict[str, _Tally] = {}
    for key, raw_type, n, sample in session.execute(stmt):
        kind = _JSON_TYPE.get(raw_type, raw_type)
        tally = tallies.setdefault(key, _Tally(by_type={}))
        assert tally.by_type is not None
        tally.count += n
        seen, seen_sample = tally.by_type.get(kind, (0, None))
        # Two SQLite types can fold into one JSON type (true/false, integer/real).
        samples = [s for s in (seen_sample, sample) if s is not None]
        tally.by_type[kind] = (seen + n, min(samples) if samples else None)
    return tallies


def summarise_traits(
    session: Session, project_id: uuid.UUID, page: PageParams, newest: int | None = None
) -> PageResult[TraitSummary]:
    """Contact keys first, then account keys; most carried keys first in each.
    With ``newest``, only the newest that many contacts and accounts are read
    (a bounded cost for a page; counts are then of that sample)."""
    return paginate_sorted(_summaries(session, project_id, newest), _order, page)


def _order(row: TraitSummary) -> tuple[int, int, str]:
    return (0 if row.scope == "contact" else 1, -row.count, row.key)


def _summaries(session: Session, project_id: uuid.UUID,
               newest: int | None = None) -> list[TraitSummary]:
    out: list[TraitSummary] = []
    for scope, table in (("contact", "contacts"), ("account", "accounts")):
        rows = []
        for key, tally in _scan(session, table, project_id, newest).items():
            assert tally.by_type is not None
            kind, (_, sample) = max(tally.by_type.items(), key=lambda kv: (kv[1][0], kv[0]))
            rows.append(TraitSummary(key, scope, kind, tally.count, sample))
        rows.sort(key=lambda r: (-r.count, r.key))
        out += rows
    return out
