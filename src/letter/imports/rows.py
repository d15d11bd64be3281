"""One CSV record to one contact row, or the reason it is rejected.

No database here: this is the per-row hot path of an import, so it is a
closure over the plan's column indexes rather than a walk over the mapping.

>>> parse = row_parser(Plan(email=0, traits=[(1, ("plan",))], width=2))
>>> parse(["Ada@Example.COM", " pro "]).email, parse(["ada@", "pro"])
('Ada@example.com', 'email: "ada@" is not a valid address (...)')
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

from letter.contacts.service import reserved_external_id
from letter.emails import InvalidEmail, email_key, normalize_email
from letter.errors import Invalid
from letter.ids import uuid7_batch
from letter.imports.mapping import Plan, status_of
from letter.projects.service import validate_timezone

__all__ = [
    "ACCOUNT",
    "EXTERNAL_ID",
    "KEY",
    "MAX_CELL",
    "ContactRow",
    "RowParser",
    "WireRow",
    "row_parser",
    "to_wire",
]

MAX_CELL = 65_536
MAX_ID = 255
MAX_EMAIL = 320


class ContactRow(NamedTuple):
    """A row that passed its checks (a tuple: it crosses process boundaries)."""

    external_id: str | None
    email: str | None
    key: str | None  # email_key(email)
    unsubscribed: bool | None  # None: the row says nothing about status
    timezone: str | None
    account: str | None
    traits: dict[str, Any]


# A row on its way to the database, as a plain tuple (it crosses processes):
# the id it gets if it is new (hex), its fields, and its traits as JSON text.
WireRow = tuple[str, str | None, str | None, str | None, bool | None, str | None, str | None,
                str]
ID, EXTERNAL_ID, EMAIL, KEY, UNSUBSCRIBED, TIMEZONE, ACCOUNT, TRAITS = range(8)


def to_wire(rows: list[ContactRow]) -> list[WireRow]:
    """Rows with their ids (time-ordered, made now) and traits as JSON."""
    dumps = orjson.dumps
    return [(ident.hex, r.external_id, r.email, r.key, r.unsubscribed, r.timezone, r.account,
             dumps(r.traits).decode()) for ident, r in zip(uuid7_batch(len(rows)), rows,
                                                            strict=True)]

RowParser = Callable[[list[str]], "ContactRow | str"]


@lru_cache(maxsize=1024)
def _zone(name: str) -> str | None:
    try:
        return validate_timezone(name)
    except Invalid:
        return None


def _cell(fields: list[str], index: int | None) -> str:
    if index is None or index >= len(fields):
        return ""
    return fields[index].strip()


def row_parser(plan: Plan, *, strict_width: bool = False) -> RowParser:
    """A function from a record's fields to a :class:`ContactRow` or a reason.

    With ``strict_width`` (a file with a header), a row with non-empty
    fields past the header's width is rejected: its columns have shifted.
    """
    width = plan.width
    ei, xi, si, ti, ai = plan.email, plan.external_id, plan.status, plan.timezone, plan.account
    flat = [(i, path[0]) for i, path in plan.traits if len(path) == 1]
    nested = [(i, path) for i, path in plan.traits if len(path) > 1]
    mapped = sorted({i for i in (ei, xi, si, ti, ai) if i is not None}
                    | {i for i, _ in plan.traits})

    def parse(fields: list[str]) -> ContactRow | str:
        if len(fields) > width and strict_width and any(f.strip() for f in fields[width:]):
            return f"{len(fields)} fields where the header has {width}"
        n = len(fields)
        for i in mapped:
            if i < n:
                value = fields[i]
                if len(value) > MAX_CELL:
                    return f"column {i}: longer than {MAX_CELL:,} characters"
                if "\x00" in value:
                    return f"column {i}: contains a NUL character"
        external_id = _cell(fields, xi) or None
        if external_id is not None:
            if len(external_id) > MAX_ID:
                return f"external_id: longer than {MAX_ID} characters"
            if reserved_external_id(external_id):
                return f'external_id: "{external_id[:64]}" is reserved'
        email: str | None = _cell(fields, ei) or None
        key = None
        if email is not None:
            if len(email) > MAX_EMAIL:
                return f"email: longer than {MAX_EMAIL} characters"
            try:
                email = normalize_email(email)
            except InvalidEmail as exc:
                return f"email: {exc}"
            key = email_key(email)
        elif external_id is None:
            return "no email or external_id"
        unsubscribed = None
        if si is not None:
            try:
                unsubscribed = status_of(_cell(fields, si))
            except ValueError as exc:
                return str(exc)
        zone = _cell(fields, ti) or None
        if zone is not None and _zone(zone) is None:
            return f'timezone: "{zone[:64]}" is not an IANA time zone name'
        account = _cell(fields, ai) or None
        if account is not None and len(account) > MAX_ID:
            return f"account.external_id: longer than {MAX_ID} characters"
        traits: dict[str, Any] = {}
        for i, name in flat:
            if i < n:
                value = fields[i].strip()
                if value:
                    traits[name] = value
        for i, path in nested:
            value = _cell(fields, i)
            if value:
                node = traits
                for part in path[:-1]:
                    child = node.get(part)
                    if not isinstance(child, dict):
                        child = node[part] = {}
                    node = child
                node[path[-1]] = value
        return ContactRow(external_id, email, key, unsubscribed, zone, account, traits)

    return parse
