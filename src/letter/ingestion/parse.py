"""Turn raw ingestion payloads into validated ``Item``s, one item at a time.

The wire format is snake_case; the camelCase spellings Segment-style SDKs send
(``userId``, ``groupId``/``accountId``, ``messageId``) are accepted too, and
fields Letter does not use (``sentAt``, ``context``, ``integrations``…) are
ignored. A bad item raises ``ItemRejected``; in a batch it is reported by index
and the other items still apply.

This runs for every item on the hot path, so it is plain code over the dicts
orjson produced rather than a model per item.

>>> item = parse_item({"type": "track", "userId": "u1", "event": "Signed Up"}, 0)
>>> (item.kind, item.user_id, item.event)
('track', 'u1', 'Signed Up')
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

import orjson

from letter.clock import as_utc
from letter.contacts.service import reserved_external_id
from letter.emails import InvalidEmail, normalize_email

__all__ = [
    "KINDS",
    "MAX_BATCH_ITEMS",
    "MAX_MESSAGE_BYTES",
    "Item",
    "ItemRejected",
    "decode_body",
    "parse_item",
]

KINDS = frozenset({"identify", "track", "group"})
MAX_ID_LENGTH = 255
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_ITEMS = 1000


class ItemRejected(Exception):
    """One item is invalid; ``code`` is the spec's error code for it."""

    def __init__(self, message: str, code: str = "bad_request") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(slots=True)
class Item:
    """One validated identify, track or group call."""

    index: int
    kind: str
    user_id: str | None
    message_id: str | None = None
    timestamp: datetime | None = None
    email: str | None = None
    timezone: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)
    event: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    account_id: str | None = None
    name: str | None = None


def _first(raw: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = raw.get(name)
        if value is not None:
            return value
    return None


def _identifier(value: Any, what: str, required: bool = True) -> str | None:
    if value is None:
        if required:
            raise ItemRejected(f"{what}: field required")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise ItemRejected(f"{what}: must be a non-empty string")
    if len(value) > MAX_ID_LENGTH:
        raise ItemRejected(f"{what}: must be at most {MAX_ID_LENGTH} characters")
    return value


def _user_id(value: Any, required: bool) -> str | None:
    user_id = _identifier(value, "user_id", required)
    if user_id is not None and reserved_external_id(user_id) is not None:
        raise ItemRejected(
            f'user_id: "{user_id}" is reserved (contacts/imports, /exports and /search'
            " are not contact ids)"
        )
    return user_id


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ItemRejected(f"{what}: must be a JSON object")
    return value


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ItemRejected("timestamp: must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ItemRejected(f'timestamp: "{value[:64]}" is not an ISO 8601 instant') from exc
    return as_utc(parsed)


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def _timezone(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in _zones():
        raise ItemRejected(f'timezone: "{str(value)[:64]}" is not an IANA time zone name')
    return value


def _email(raw: dict[str, Any], traits: dict[str, Any]) -> str | None:
    value = raw.get("email")
    if value is None:
        value = traits.get("email")
    if value is None:
        return None
    if not isinstance(value, str):
        raise ItemRejected("email: must be a string")
    try:
        return normalize_email(value)
    except InvalidEmail as exc:
        raise ItemRejected(f"email: {exc}") from exc


def _identify(item: Item, raw: dict[str, Any]) -> None:
    item.traits = _object(raw.get("traits"), "traits")
    item.email = _email(raw, item.traits)
    context = raw.get("context")
    zone = raw.get("timezone")
    if zone is None and isinstance(context, dict):
        zone = context.get("timezone")
    item.timezone = _timezone(zone)


def _track(item: Item, raw: dict[str, Any]) -> None:
    item.event = _identifier(raw.get("event"), "event")
    item.properties = _object(raw.get("properties"), "properties")


def _group(item: Item, raw: dict[str, Any]) -> None:
    item.account_id = _identifier(
        _first(raw, "account_id", "accountId", "group_id", "groupId"), "account_id"
    )
    item.traits = _object(raw.get("traits"), "traits")
    name = raw.get("name")
    if name is None:
        # Segment's group() carries the name as a trait.
        name = item.traits.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > MAX_ID_LENGTH):
        raise ItemRejected(f"name: must be a string of at most {MAX_ID_LENGTH} characters")
    item.name = name


def _has_nul(value: Any) -> bool:
    """Whether a NUL is in any key or string of ``value`` (no column can store one)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


# An integer literal of 19+ digits may not fit in 64 bits, and orjson would
# read it as a float, silently changing it.
_LONG_INTEGER = re.compile(rb"\d{19}")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_body(body: bytes) -> Any:
    """The JSON ``body``, with every integer exact: orjson on the hot path,
    the standard library when a long run of digits might be a huge integer.
    Raises ValueError on malformed JSON.

    >>> decode_body(b'{"n": 1180591620717411303424}')["n"] == 2**70
    True
    """
    if _LONG_INTEGER.search(body) is None:
        return orjson.loads(body)
    return json.loads(body, parse_constant=_no_constants)


_BY_KIND = {"identify": _identify, "track": _track, "group": _group}


def parse_item(raw: Any, index: int, kind: str | None = None) -> Item:
    """Validate one call (at most 32 KB as JSON). ``kind`` is fixed by
    single-call endpoints; in a batch each item names its own ``type``."""
    if not isinstance(raw, dict):
        raise ItemRejected("item: must be a JSON object")
    declared = raw.get("type")
    if kind is None:
        if declared not in KINDS:
            raise ItemRejected(f'type: must be one of identify, track, group, not "{declared}"')
        kind = declared
    elif declared is not None and declared != kind:
        raise ItemRejected(f'type: "{declared}" sent to the {kind} endpoint')
    try:
        encoded = orjson.dumps(raw)
    except orjson.JSONEncodeError as exc:
        # Only integers beyond 64 bits get here (see ``decode_body``).
        raise ItemRejected(
            "item: holds an integer beyond the 64-bit range; send it as a string"
        ) from exc
    if b"\\u0000" in encoded and _has_nul(raw):
        raise ItemRejected("item: strings must not contain NUL (\\u0000) characters")
    if len(encoded) > MAX_MESSAGE_BYTES:
        raise ItemRejected(
            f"item: a message is at most {MAX_MESSAGE_BYTES} bytes", code="payload_too_large"
        )
    item = Item(
        index=index,
        kind=kind,
        user_id=_user_id(_first(raw, "user_id", "userId"), kind != "group"),
        message_id=_identifier(_first(raw, "message_id", "messageId"), "message_id", False),
        timestamp=_timestamp(raw.get("timestamp")),
    )
    _BY_KIND[kind](item, raw)
    return item
