"""What each column of a CSV means: the mapping a user sends, checked and
resolved against the file's columns into a :class:`Plan` of column indexes,
and the status words an import understands.

A mapping goes from a column (its header text, or its zero-based index as a
string) to a field: ``email``, ``external_id``, ``status``, ``timezone``,
``traits.<path>`` (dots nest), ``account.external_id`` or ``ignore``.

>>> plan = resolve({"Email": "email", "Plan": "traits.plan"}, ["Email", "Plan"])
>>> plan.email, plan.traits
(0, [(1, ('plan',))])
>>> status_of("Opted-Out"), status_of("active"), status_of("")
(True, False, None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from letter.errors import Invalid

__all__ = [
    "IDENTITY_FIELDS",
    "SUBSCRIBED",
    "UNSUBSCRIBED",
    "Plan",
    "parse_mapping",
    "resolve",
    "status_of",
    "word",
]

SIMPLE_FIELDS = ("email", "external_id", "status", "timezone", "account.external_id")
IDENTITY_FIELDS = ("email", "external_id")
MAX_MAPPING_COLUMNS = 500
MAX_TRAIT_PATH = 255

# Status words, compared after :func:`word`: what CRMs, ESPs and spreadsheets write.
SUBSCRIBED = frozenset({
    "subscribed", "subscribe", "subscriber", "active", "opted_in", "opt_in", "optin",
    "opted", "yes", "y", "true", "t", "1", "confirmed", "sub", "on", "enabled", "ok",
})
UNSUBSCRIBED = frozenset({
    "unsubscribed", "unsubscribe", "unsub", "inactive", "opted_out", "opt_out", "optout",
    "no", "n", "false", "f", "0", "cleaned", "bounced", "hard_bounce", "suppressed",
    "blocked", "blocklisted", "blacklisted", "do_not_email", "do_not_contact", "dnc",
    "not_subscribed", "non_subscribed", "nonsubscribed", "cancelled", "canceled",
    "complained", "spam", "off", "disabled",
})
_SEPARATORS = re.compile(r"[\s\-]+")


def word(value: str) -> str:
    """A cell as a status word: trimmed, lower-cased, runs of spaces and
    dashes as one underscore."""
    return _SEPARATORS.sub("_", value.strip().lower())


def status_of(value: str) -> bool | None:
    """True for unsubscribed, False for subscribed, None for an empty cell;
    ``ValueError`` for a word that is neither."""
    w = word(value)
    if not w:
        return None
    if w in UNSUBSCRIBED:
        return True
    if w in SUBSCRIBED:
        return False
    raise ValueError(f'status "{value.strip()[:64]}" is neither subscribed nor unsubscribed')


@dataclass
class Plan:
    """The mapping resolved to column indexes (None: not mapped)."""

    email: int | None = None
    external_id: int | None = None
    status: int | None = None
    timezone: int | None = None
    account: int | None = None
    traits: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    width: int = 0  # fields in the header (or first row)

    def to_json(self) -> dict[str, Any]:
        return {"width": self.width, "email": self.email, "external_id": self.external_id,
                "status": self.status, "timezone": self.timezone, "account": self.account,
                "traits": [[i, list(path)] for i, path in self.traits]}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Plan:
        return cls(email=raw.get("email"), external_id=raw.get("external_id"),
                   status=raw.get("status"), timezone=raw.get("timezone"),
                   account=raw.get("account"), width=int(raw.get("width") or 0),
                   traits=[(int(i), tuple(path)) for i, path in raw.get("traits", [])])


def _field(column: str, value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f'mapping: column "{column}" must map to a field name (a string)')
    if value in SIMPLE_FIELDS or value == "ignore":
        return value
    if value.startswith("traits."):
        path = value.removeprefix("traits.").split(".")
        if all(p.strip() for p in path) and len(value) <= MAX_TRAIT_PATH:
            return value
        raise Invalid(f'mapping: "{value}" is not a trait path (traits.<name>, dots nest)')
    raise Invalid(
        f'mapping: unknown field "{value[:100]}" for column "{column}"; use email, external_id,'
        " status, timezone, traits.<name>, account.external_id or ignore")


def parse_mapping(raw: str | None) -> dict[str, str]:
    """The mapping form field: a JSON object from column to field, checked."""
    if raw is None or not raw.strip():
        raise Invalid("mapping: required (a JSON object from column to field)")
    try:
        mapping = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"mapping: not valid JSON ({exc})") from exc
    if not isinstance(mapping, dict) or not mapping:
        raise Invalid("mapping: must be a non-empty JSON object from column to field")
    if len(mapping) > MAX_MAPPING_COLUMNS:
        raise Invalid(f"mapping: at most {MAX_MAPPING_COLUMNS} columns")
    checked = {str(column): _field(str(column), value) for column, value in mapping.items()}
    targets = [f for f in checked.values() if f != "ignore"]
    twice = sorted({f for f in targets if targets.count(f) > 1})
    if twice:
        raise Invalid(f"mapping: {', '.join(twice)} mapped from more than one column")
    if not any(f in IDENTITY_FIELDS for f in targets):
        raise Invalid("mapping: map a column to email or external_id (or both)")
    paths = {f for f in targets if f.startswith("traits.")}
    for longer in sorted(paths):
        parts = longer.split(".")
        for end in range(2, len(parts)):
            shorter = ".".join(parts[:end])
            if shorter in paths:
                raise Invalid(f"mapping: {shorter} and {longer} cannot both be set")
    return checked


def _column_index(column: str, header: list[str] | None, width: int) -> int:
    if header is not None:
        if column in header:
            return header.index(column)
        folded = [h.strip().casefold() for h in header]
        if column.strip().casefold() in folded:
            return folded.index(column.strip().casefold())
    if column.isdigit() and int(column) < width:
        return int(column)
    if header is not None:
        shown = ", ".join(f'"{h}"' for h in header[:30])
        raise Invalid(f'mapping: the file has no column "{column}" (its header: {shown})')
    raise Invalid(
        f'mapping: the file has no header, so name columns by index: "{column}" is not one'
        f" of 0-{width - 1}")


def resolve(mapping: dict[str, str], header: list[str] | None, width: int | None = None
            ) -> Plan:
    """Column indexes for a checked mapping against the file's header (None
    for a header-less file whose first row has ``width`` fields)."""
    width = len(header) if header is not None else (width or 0)
    plan = Plan(width=width)
    used: dict[int, str] = {}
    for column, target in mapping.items():
        index = _column_index(column, header, width)
        if target == "ignore":
            continue
        if index in used:
            raise Invalid(f'mapping: column "{column}" is mapped twice')
        used[index] = column
        if target.startswith("traits."):
            plan.traits.append((index, tuple(target.removeprefix("traits.").split("."))))
        elif target == "account.external_id":
            plan.account = index
        else:
            setattr(plan, target, index)
    return plan
