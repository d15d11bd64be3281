"""The suggested mapping of a preview: deterministic, from header names when
the file has them and from the values when it has none (or when a header
says nothing, like "Contact" over a column of addresses).

Each column gets a kind from its values — email, id, status, timezone, date,
number, boolean, phone, name, text, empty — when at least four in five of
its non-empty samples agree (half, for addresses); the header, if any, is read
first.

>>> rows = [["ada@example.com", "Ada", "Lovelace", "subscribed"],
...         ["grace@example.com", "Grace", "Hopper", "unsubscribed"]]
>>> has_header(rows), [c["suggested"] for c in columns(rows, False)]
(False, ['email', 'traits.first_name', 'traits.last_name', 'status'])
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from letter.emails import InvalidEmail, normalize_email
from letter.imports.mapping import SUBSCRIBED, UNSUBSCRIBED, word
from letter.values import INSTANT_PATTERN, NUMBER_PATTERN

__all__ = ["columns", "has_header", "kind_of_column", "suggest_from_header"]

SAMPLES = 5
AGREEMENT = 0.8
EMAIL_AGREEMENT = 0.5

# Header names (after ``_slug``) and the field they mean.
HEADER_FIELDS = {
    **dict.fromkeys(("email", "e_mail", "email_address", "e_mail_address", "emailaddress",
                     "mail", "email_id", "work_email", "primary_email", "contact_email",
                     "subscriber_email", "courriel", "correo", "correo_electronico"), "email"),
    **dict.fromkeys(("id", "user_id", "userid", "external_id", "externalid", "customer_id",
                     "customerid", "contact_id", "uid", "member_id", "subscriber_id",
                     "uuid", "record_id", "client_id"), "external_id"),
    **dict.fromkeys(("status", "subscription_status", "subscribed", "email_status",
                     "subscriber_status", "marketing_status", "opt_in", "optin",
                     "email_opt_in", "marketing_opt_in", "consent"), "status"),
    **dict.fromkeys(("timezone", "time_zone", "tz", "tzid"), "timezone"),
    **dict.fromkeys(("account_id", "company_id", "org_id", "organization_id",
                     "organisation_id", "team_id", "workspace_id", "group_id"),
                    "account.external_id"),
    **dict.fromkeys(("first_name", "firstname", "fname", "given_name", "forename",
                     "prenom", "vorname"), "traits.first_name"),
    **dict.fromkeys(("last_name", "lastname", "lname", "surname", "family_name", "nom",
                     "nachname"), "traits.last_name"),
    **dict.fromkeys(("name", "full_name", "fullname", "contact_name", "display_name"),
                    "traits.name"),
}
# Words that only a header row would hold.
HEADER_WORDS = frozenset(HEADER_FIELDS) | {
    "plan", "company", "company_name", "city", "country", "phone", "phone_number",
    "mobile", "created_at", "signup_date", "signed_up_at", "title", "job_title", "role",
    "language", "locale", "address", "zip", "postal_code", "state", "region", "tags",
    "source", "notes", "birthday", "gender", "website",
}
SINGLE_FIELDS = ("email", "external_id", "status", "timezone", "account.external_id")
BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no", "y", "n", "t", "f", "0", "1"})
STATUS_ONLY = (SUBSCRIBED | UNSUBSCRIBED) - BOOLEAN_WORDS - {"on", "off", "ok"}

_NUMBER = re.compile(NUMBER_PATTERN + "|-?[0-9]+,[0-9]+")
_INSTANT = re.compile(INSTANT_PATTERN)
_DATE = re.compile(
    r"[0-9]{1,2}[/.\-][0-9]{1,2}[/.\-][0-9]{2,4}( [0-9]{1,2}:[0-9]{2}(:[0-9]{2})?)?"
    r"|[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}"
    r"|[0-9]{1,2} [A-Za-z]{3,9}\.? [0-9]{4}|[A-Za-z]{3,9}\.? [0-9]{1,2},? [0-9]{4}")
_PHONE = re.compile(r"\+?[0-9(][0-9 ()./\-]{6,20}[0-9]")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-:.]*")
_NAME = re.compile(r"[^\W\d_][^\W\d_'\u2019.\-]*(?:[ '\u2019.\-]+[^\W\d_]+)*\.?")


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.strip().lower()).strip("_")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def _is_email(value: str) -> bool:
    if "@" not in value:
        return False
    try:
        normalize_email(value)
    except InvalidEmail:
        return False
    return True


def _is_date(value: str) -> bool:
    return bool(_INSTANT.fullmatch(value) or _DATE.fullmatch(value))


# Tried in this order: the first kind that four in five values share wins.
KINDS: list[tuple[str, Callable[[str], bool]]] = [
    ("email", _is_email),
    ("status", lambda v: word(v) in STATUS_ONLY or word(v) in BOOLEAN_WORDS),
    ("boolean", lambda v: word(v) in BOOLEAN_WORDS),
    ("timezone", lambda v: v in _zones()),
    ("date", _is_date),
    # Numbered records (10023, 10024…): digits of one length, unique.
    ("id", lambda v: v.isdigit() and len(v) >= 3),
    ("number", lambda v: bool(_NUMBER.fullmatch(v))),
    ("phone", lambda v: bool(_PHONE.fullmatch(v)) and sum(c.isdigit() for c in v) >= 7),
    ("id", lambda v: bool(_ID.fullmatch(v)) and any(c.isdigit() for c in v)),
    ("name", lambda v: len(v) <= 60 and bool(_NAME.fullmatch(v)) and v[:1].isupper()),
]


def kind_of_column(values: list[str]) -> str:
    """The kind four in five of the non-empty values share (``text`` if none)."""
    present = [v.strip() for v in values if v.strip()]
    if not present:
        return "empty"
    for kind, test in KINDS:
        # Half the values being addresses makes a column of addresses (with typos).
        need = (EMAIL_AGREEMENT if kind == "email" else AGREEMENT) * len(present)
        if sum(1 for v in present if test(v)) >= need:
            if kind == "status" and not any(word(v) in STATUS_ONLY for v in present):
                continue  # yes/no alone is a boolean, not a subscription status
            if kind == "id" and (len(set(present)) < len(present) or (
                    all(v.isdigit() for v in present) and len({len(v) for v in present}) > 1)):
                continue  # ids are unique (and numbered ones of one length)
            return kind
    return "text"


def suggest_from_header(header: str) -> str | None:
    """The field a header names, or None when it names none in particular."""
    slug = _slug(header)
    if not slug:
        return None
    return HEADER_FIELDS.get(slug) or f"traits.{slug}"


def has_header(rows: list[list[str]], mapping: dict[str, str] | None = None) -> bool:
    """Whether the first row is a header: the mapping names its cells, or its
    cells are header words, or they are text over typed values."""
    if not rows:
        return False
    first = [cell.strip() for cell in rows[0]]
    folded = {cell.casefold() for cell in first}
    if mapping and any(not c.isdigit() and c.strip().casefold() in folded for c in mapping):
        return True
    if any(_is_email(cell) for cell in first):
        return False
    if any(_slug(cell) in HEADER_WORDS for cell in first):
        return True
    rest = rows[1:]
    if not rest:
        return all(cell and not cell[0].isdigit() for cell in first)
    for index, cell in enumerate(first):
        below = kind_of_column([r[index] for r in rest if index < len(r)])
        if below not in ("text", "name", "empty") and kind_of_column([cell]) != below:
            return True
    return False


def _numbered(taken: dict[str, int], field: str) -> str:
    taken[field] = taken.get(field, 0) + 1
    return field if taken[field] == 1 else f"{field}_{taken[field]}"


def columns(rows: list[list[str]], header_row: bool) -> list[dict[str, Any]]:
    """Each column's index, header, samples, kind and suggested field."""
    header = rows[0] if header_row and rows else None
    data = rows[1:] if header_row else rows
    width = max((len(r) for r in rows), default=0)
    taken: dict[str, int] = {}
    names = [kind_of_column([r[i] for r in data if i < len(r)]) for i in range(width)]
    single_names = [i for i, k in enumerate(names) if k == "name"
                    and all(" " not in r[i].strip() for r in data if i < len(r))]
    out: list[dict[str, Any]] = []
    for index in range(width):
        values = [r[index] for r in data if index < len(r)]
        kind = names[index]
        title = header[index].strip() if header is not None and index < len(header) else None
        field = suggest_from_header(title) if title else None
        if field is not None and field.startswith("traits.") and kind == "email":
            field = "email"
        if field is None:
            field = _from_kind(kind, index, single_names)
        if field in SINGLE_FIELDS and field in taken:
            field = f"traits.{_slug(title or '') or field.replace('.', '_')}"
        if field != "ignore":
            field = _numbered(taken, field)
        out.append({"index": index, "header": title, "kind": kind,
                    "samples": [v[:100] for v in values[:SAMPLES]], "suggested": field})
    return out


def _from_kind(kind: str, index: int, single_names: list[int]) -> str:
    if kind in ("email", "status", "timezone"):
        return kind
    if kind == "id":
        return "external_id"
    if kind == "empty":
        return "ignore"
    if kind == "name":
        # Two columns of single words read as first and last names; one alone
        # (or full names) as a name.
        if len(single_names) >= 2 and index in single_names[:2]:
            return "traits.first_name" if index == single_names[0] else "traits.last_name"
        return "traits.name"
    if kind == "text":
        return f"traits.column_{index}"
    return f"traits.{kind}"
