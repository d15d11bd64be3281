"""The Ingestion API's rules: who is calling, what a call or batch applies,
and pruning of the message receipts that make calls idempotent.

>>> key = authenticate(session, "lt_live_…")                         # doctest: +SKIP
>>> result = ingest_batch(session, key.project, orjson.loads(body)) # doctest: +SKIP
>>> record_use(session, key)                                        # doctest: +SKIP
>>> result.as_json()                                                # doctest: +SKIP
{'accepted': 99, 'duplicates': 0, 'rejected': [{'index': 3, 'code': 'bad_request', ...}]}
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, select, tuple_
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from letter.clock import utcnow
from letter.errors import Conflict, Invalid, PayloadTooLarge, Unauthorized
from letter.ingestion.apply import RECEIPT_RETENTION, Outcome, Race, apply_items, receipts_t
from letter.ingestion.parse import MAX_BATCH_ITEMS, Item, ItemRejected, parse_item
from letter.projects.keys import ActiveKey, resolve_key, touch
from letter.projects.models import Project

__all__ = [
    "BatchResult",
    "apply_for_project",
    "authenticate",
    "commit",
    "credential_from_header",
    "ingest_batch",
    "ingest_one",
    "parse_one",
    "prune_receipts",
    "record_use",
    "retry_races",
]

T = TypeVar("T")
# A batch that loses a race for a new contact re-runs; more than this means trouble.
MAX_ATTEMPTS = 5
PRUNE_CHUNK = 5_000
TRUE_STRINGS = frozenset({"1", "true", "yes", "on"})
FALSE_STRINGS = frozenset({"", "0", "false", "no", "off"})


@dataclass
class BatchResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


def credential_from_header(authorization: str | None) -> str:
    """The raw key from ``Bearer <key>`` or HTTP Basic with the key as user name.

    >>> credential_from_header("Basic " + base64.b64encode(b"lt_live_x:").decode())
    'lt_live_x'
    """
    scheme, _, value = (authorization or "").strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer" and value:
        return value
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise Unauthorized("Malformed Basic credentials.") from exc
        return decoded.partition(":")[0]
    raise Unauthorized(
        "Send a project key as 'Authorization: Bearer lt_live_…' (or as the Basic user name)."
    )


def authenticate(session: Session, raw: str) -> ActiveKey:
    """The key and its project; from memory for a key used within a second,
    so most calls reach the database only to apply their items."""
    return resolve_key(session, raw)


def record_use(session: Session, key: ActiveKey) -> None:
    """The key's ``last_used_at``, written at most once a minute: writing on
    every call would turn the hot path into contention on one row."""
    touch(session, key, utcnow())


def wants_skip_triggers(body: dict[str, Any], query_value: str | None) -> bool:
    """``skip_triggers`` (or ``skipTriggers``) from the body, or ``?skip_triggers=1``."""
    value = body.get("skip_triggers", body.get("skipTriggers"))
    if value is not None and not isinstance(value, bool):
        raise Invalid("skip_triggers: must be a boolean")
    query = (query_value or "").lower()
    if query not in TRUE_STRINGS and query not in FALSE_STRINGS:
        raise Invalid(f'skip_triggers: "{query[:64]}" is not a boolean (true or false)')
    return bool(value) or query in TRUE_STRINGS


def parse_one(kind: str, body: Any, query_skip: str | None = None) -> tuple[Item, bool]:
    """One identify, track or group call validated, and whether it skips
    triggers; a bad call is a 400 (or 413)."""
    if not isinstance(body, dict):
        raise Invalid("The body must be a JSON object.")
    try:
        item = parse_item(body, 0, kind)
    except ItemRejected as exc:
        if exc.code == PayloadTooLarge.code:
            raise PayloadTooLarge(exc.message) from exc
        raise Invalid(exc.message) from exc
    return item, wants_skip_triggers(body, query_skip)


def ingest_one(
    session: Session, project: Project, kind: str, body: Any, query_skip: str | None = None
) -> BatchResult:
    """One identify, track or group call; a bad call is a 400 and changes nothing."""
    item, skip = parse_one(kind, body, query_skip)
    outcome = _apply(session, project, [item], skip)
    return BatchResult(outcome.accepted, outcome.duplicates)


def apply_for_project(
    session: Session, project: Project, items: list[Item], skip: bool
) -> frozenset[int]:
    """Apply validated items of one project in order, uncommitted, with no
    savepoint of their own: on PostgreSQL a lost race or a deadlock is for
    the caller to retry whole (``retry_races``). Returns the
    ``index`` of each item applied (the others were duplicates)."""
    return apply_items(session, project, items, skip_triggers=skip, now=utcnow()).applied


def ingest_batch(
    session: Session, project: Project, body: Any, query_skip: str | None = None
) -> BatchResult:
    """A ``{"batch": [...]}`` body: each valid item applies whole, each bad one
    is reported by its index; whole-request problems raise."""
    if not isinstance(body, dict):
        raise Invalid("The body must be a JSON object with a batch array.")
    raw_items = body.get("batch")
    if not isinstance(raw_items, list):
        raise Invalid("batch: must be an array of identify, track and group calls")
    if len(raw_items) > MAX_BATCH_ITEMS:
        raise PayloadTooLarge(f"batch: at most {MAX_BATCH_ITEMS} items per request")
    skip = wants_skip_triggers(body, query_skip)
    result = BatchResult()
    items: list[Item] = []
    for index, raw in enumerate(raw_items):
        try:
            items.append(parse_item(raw, index))
        except ItemRejected as exc:
            result.rejected.append({"index": index, "code": exc.code, "message": exc.message})
    if items:
        outcome = _apply(session, project, items, skip)
        result.accepted, result.duplicates = outcome.accepted, outcome.duplicates
    return result


def _is_deadlock(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


def retry_races(session: Session, attempt: Callable[[], T], *, savepoint: bool) -> T:
    """Run ``attempt`` again when it loses a race for a new contact to a
    concurrent request (``Race``) or hits a deadlock (PostgreSQL): inside a
    savepoint each time, or, when the transaction is the attempt's alone,
    after rolling the whole transaction back."""
    for n in range(1, MAX_ATTEMPTS + 1):
        try:
            if not savepoint:
                return attempt()
            with session.begin_nested():
                return attempt()
        except Race:
            pass
        except OperationalError as exc:
            if not _is_deadlock(exc) or n == MAX_ATTEMPTS:
                raise
        if not savepoint:
            session.rollback()
    raise Race("contacts kept changing under this batch; retry it")


def commit(session: Session) -> None:
    """Commit; a write refused by a constraint is a 409 and leaves nothing."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("The request conflicts with current data.") from exc


def _apply(session: Session, project: Project, items: list[Item], skip: bool) -> Outcome:
    now = utcnow()
    if session.get_bind().dialect.name == "sqlite":
        # One writer at a time (BEGIN IMMEDIATE): no race to recover from.
        return apply_items(session, project, items, skip_triggers=skip, now=now)
    return retry_races(
        session, lambda: apply_items(session, project, items, skip_triggers=skip, now=now),
        savepoint=True)


def prune_receipts(session: Session, now: datetime | None = None) -> int:
    """Delete one chunk of message receipts past retention; returns how many.

    The worker runs it again at once while it finds work, so a large backlog
    goes in short transactions.
    """
    cutoff = (now or utcnow()) - RECEIPT_RETENTION
    c = receipts_t.c
    stale = select(c.project_id, c.message_id).where(c.received_at < cutoff).limit(PRUNE_CHUNK)
    stmt = delete(receipts_t).where(tuple_(c.project_id, c.message_id).in_(stale))
    result = session.execute(stmt)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
