"""Store and find the first response to a request made with an Idempotency-Key.

Secrets minted by a create (tokens, keys, invitation secrets) are shown once:
the stored copy has each of them replaced by ``null``, so a replay answers the
same id, name and prefix without the secret, and no raw secret sits in the
table for the 24 hours a record lives.

>>> redact_secrets(b'{"id":"1","token":"lt_pat_' + b"a" * 48 + b'"}')
b'{"id":"1","token":null}'
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from letter.clock import utcnow
from letter.idempotency.models import IdempotencyRecord

__all__ = [
    "RETENTION",
    "StoredResponse",
    "find",
    "prune",
    "redact_secrets",
    "remember",
    "request_fingerprint",
]

RETENTION = timedelta(hours=24)
MAX_KEY_LENGTH = 255
# Every secret Letter mints is ``lt_<kind>_`` + 48 hex digits, as a JSON string.
_SECRET_JSON = re.compile(rb'"lt_[a-z]+_[0-9a-f]{48}"')


def redact_secrets(body: bytes) -> bytes:
    """The JSON ``body`` with every minted secret replaced by ``null``."""
    return _SECRET_JSON.sub(b"null", body)


@dataclass(frozen=True)
class StoredResponse:
    request_hash: str
    status_code: int
    headers: dict[str, str]
    body: bytes


def request_fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def find(session: Session, scope: str, key: str) -> StoredResponse | None:
    record = session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.key == key,
            IdempotencyRecord.expires_at > utcnow(),
        )
    ).one_or_none()
    if record is None:
        return None
    return StoredResponse(record.request_hash, record.status_code, record.headers, record.body)


def remember(session: Session, scope: str, key: str, response: StoredResponse) -> None:
    # An expired record for the same key would collide with the unique constraint.
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.key == key,
            IdempotencyRecord.expires_at <= utcnow(),
        )
    )
    session.add(
        IdempotencyRecord(
            scope=scope,
            key=key,
            request_hash=response.request_hash,
            status_code=response.status_code,
            headers=response.headers,
            body=redact_secrets(response.body),
            expires_at=utcnow() + RETENTION,
        )
    )


def prune(session: Session, now: datetime | None = None) -> int:
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= (now or utcnow()))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
