"""Turning queued calls into the wire format of ``POST /v1/batch``.

Everything here runs on the background thread (or, for a rejected call, in
the slow path of the caller): the caller's fast path only builds a tuple.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

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


#: The last whole second formatted by format_epoch, and its text.
_last_second: Tuple[int, str] = (-1, "")


def format_epoch(seconds: float) -> str:
    """``time.time()`` value as ISO-8601 UTC with milliseconds and ``Z``.

    Calls made within the same second share the formatting of that second.
    """
    global _last_second
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    last, text = _last_second  # one tuple: consistent even across threads
    if whole != last:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _last_second = (whole, text)
    return "%s.%03dZ" % (text, millis)


def new_message_id() -> str:
    """A random UUID (version 4) as text, like ``str(uuid.uuid4())`` at half the cost."""
    h = os.urandom(16).hex()
    variant = "89ab"[int(h[16], 16) & 3]  # RFC 4122: the two top bits are 10
    return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], variant, h[17:20], h[20:])


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

Encode = Callable[[WireItem], bytes]


def encode(wire: WireItem) -> bytes:
    """Compact UTF-8 JSON. Raises ``TypeError``/``ValueError`` when not encodable."""
    return _ENCODER.encode(wire).encode("utf-8")


def make_encoder() -> Encode:
    """An :func:`encode` for one thread, without its per-call setup.

    ``JSONEncoder.encode`` builds the C encoder again for every call; this
    builds it once (with the same options, so the same output and errors)
    and reuses it. Falls back to :func:`encode` where the standard library
    has no C encoder, or one that does not answer the same.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encode
    markers: Dict[int, Any] = {}  # circular-reference detection, as check_circular=True
    try:
        c_encoder = make(
            markers,
            _json_default,
            json.encoder.encode_basestring,
            None,
            ":",
            ",",
            False,
            False,
            False,
        )
    except Exception:
        return encode

    def fast(wire: WireItem) -> bytes:
        try:
            return "".join(c_encoder(wire, 0)).encode("utf-8")
        except BaseException:
            markers.clear()  # a failed encoding may leave its marks behind
            raise

    sample: WireItem = {"a": [1, 2.5, None, True, "\u00e9\n"], "b": {"c": date(2024, 1, 2)}}
    try:
        if fast(sample) != encode(sample):
            return encode
    except Exception:
        return encode
    return fast


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
    wire["message_id"] = message_id if message_id is not None else new_message_id()
    return wire


def batch_body(payloads: List[bytes], skip_triggers: bool) -> bytes:
    """The ``/v1/batch`` request body for already-encoded items."""
    tail = b'],"skip_triggers":true}' if skip_triggers else b'],"skip_triggers":false}'
    return b'{"batch":[' + b",".join(payloads) + tail


#: Bytes of a batch body that are not items (the longer of the two tails).
ENVELOPE_BYTES = len(batch_body([], False))
