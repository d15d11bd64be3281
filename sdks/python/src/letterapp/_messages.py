"""Turning queued calls into the wire format of ``POST /v1/batch``.

Everything here runs on the background thread (or, for a rejected call, in
the slow path of the caller): the caller's fast path only builds a tuple.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Dict, List, Optional, Tuple, Union

IDENTIFY = "identify"
GROUP = "group"
TRACK = "track"

#: One queued call: (type, user_id, a, b, c, timestamp, message_id, created)
#: where (a, b, c) is (email, traits, timezone) for identify,
#: (account_id, name, traits) for group and (event, properties, None) for track,
#: and ``created`` is ``time.time()`` when the call was made.
Item = Tuple[str, Any, Any, Any, Any, Any, Optional[str], float]

WireItem = Dict[str, Any]

#: The API refuses bodies over 500 KB; batches stay under 475 KB.
MAX_BATCH_BYTES = 475 * 1024
#: A single encoded message may not exceed 32 KB.
MAX_MESSAGE_BYTES = 32 * 1024

TimestampLike = Union[datetime, date, str]


def format_datetime(value: datetime) -> str:
    """ISO-8601 in UTC with millisecond precision and a ``Z`` suffix.

    Naive datetimes are taken to be in UTC already (as ``datetime.utcnow()``
    returns them).
    """
    if value.tzinfo is not None and value.utcoffset() is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    else:
        value = value.replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def format_epoch(seconds: float) -> str:
    """``time.time()`` value as ISO-8601 UTC with milliseconds and ``Z``."""
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%03dZ" % millis


def format_timestamp(value: Any, created: float) -> Any:
    if value is None:
        return format_epoch(created)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError("%s is not JSON serializable" % type(value).__name__)


_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    allow_nan=False,
    separators=(",", ":"),
    default=_json_default,
)


def to_wire(item: Item) -> WireItem:
    """The JSON object sent for one queued call (message_id generated if absent)."""
    kind, user_id, a, b, c, timestamp, message_id, created = item
    wire: WireItem = {"type": kind, "user_id": user_id if type(user_id) is str else str(user_id)}
    if kind == TRACK:
        wire["event"] = a
        if b is not None:
            wire["properties"] = b
    elif kind == IDENTIFY:
        if a is not None:
            wire["email"] = a
        if b is not None:
            wire["traits"] = b
        if c is not None:
            wire["timezone"] = c
    else:
        wire["account_id"] = a if type(a) is str else str(a)
        if b is not None:
            wire["name"] = b
        if c is not None:
            wire["traits"] = c
    wire["timestamp"] = format_timestamp(timestamp, created)
    wire["message_id"] = message_id if message_id is not None else str(uuid.uuid4())
    return wire


def encode(wire: WireItem) -> bytes:
    """Compact UTF-8 JSON. Raises ``TypeError``/``ValueError`` when not encodable."""
    return _ENCODER.encode(wire).encode("utf-8")


def batch_body(payloads: List[bytes], skip_triggers: bool) -> bytes:
    """The ``/v1/batch`` request body for already-encoded items."""
    tail = b'],"skip_triggers":true}' if skip_triggers else b'],"skip_triggers":false}'
    return b'{"batch":[' + b",".join(payloads) + tail


#: Bytes of a batch body that are not items (the longer of the two tails).
ENVELOPE_BYTES = len(batch_body([], False))
