"""Ingestion keys resolved from memory: the hot path's authentication.

Every ingestion call names its project by key. Looking the key up costs a
query per call, and on SQLite the transaction it opens takes the write lock
before the body is even parsed, so a resolved key is remembered for
``TTL`` seconds (by the SHA-256 of the key, never the key itself).

Revoking a key or deleting a project forgets every remembered key of this
process at once (again after the change commits, so a lookup that raced it
cannot keep the old answer); other processes stop accepting it within ``TTL``.
The key's ``last_used_at`` is written at most once a ``LAST_USED_RESOLUTION``,
inside the caller's transaction (``touch``).

>>> active = resolve_key(session, "lt_live_…")      # doctest: +SKIP
>>> touch(session, active, utcnow())                # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from letter.auth.security import KEY_PREFIX, hash_secret, is_well_formed
from letter.auth.service import LAST_USED_RESOLUTION
from letter.errors import Unauthorized
from letter.projects.models import Project, ProjectKey

__all__ = ["TTL", "ActiveKey", "forget_keys", "forget_keys_on_commit", "resolve_key", "touch"]

TTL = 1.0
MAX_KEYS = 10_000


@dataclass(slots=True)
class ActiveKey:
    """A key that authenticated, with its project (detached: read-only)."""

    key_id: uuid.UUID
    project: Project
    last_used_at: datetime | None
    resolved_at: float


_keys: dict[str, ActiveKey] = {}
_lock = threading.Lock()
_generation = 0


def forget_keys() -> None:
    """Drop every remembered key (a key was revoked or a project deleted)."""
    global _generation
    with _lock:
        _keys.clear()
        _generation += 1


def forget_keys_on_commit(session: Session) -> None:
    """``forget_keys`` now and again once ``session`` commits."""
    forget_keys()
    event.listen(session, "after_commit", lambda _s: forget_keys(), once=True)


def _load(session: Session, digest: str) -> ActiveKey:
    row = session.execute(
        select(ProjectKey.id, ProjectKey.last_used_at, Project)
        .join(Project, Project.id == ProjectKey.project_id)
        .where(ProjectKey.key_hash == digest, ProjectKey.revoked_at.is_(None))
    ).one_or_none()
    if row is None:
        raise Unauthorized("Invalid or revoked project key.")
    project: Project = row[2]
    session.expunge(project)
    return ActiveKey(row[0], project, row[1], time.monotonic())


def resolve_key(session: Session, raw: str) -> ActiveKey:
    """The active key ``raw`` names, from memory when resolved within ``TTL``
    seconds; else looked up with ``session``. Raises Unauthorized."""
    if not is_well_formed(raw, KEY_PREFIX):
        raise Unauthorized("Missing or malformed project key.")
    digest = hash_secret(raw)
    found = _keys.get(digest)
    if found is not None and time.monotonic() - found.resolved_at < TTL:
        return found
    generation = _generation
    found = _load(session, digest)
    with _lock:
        # A revocation while this lookup ran may have missed it: do not keep it.
        if generation == _generation:
            if len(_keys) >= MAX_KEYS:
                _keys.clear()
            _keys[digest] = found
    return found


def touch(session: Session, key: ActiveKey, now: datetime) -> None:
    """Record the key's use, at most once a ``LAST_USED_RESOLUTION``."""
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    key.last_used_at = now
    session.execute(
        update(ProjectKey)
        .where(ProjectKey.id == key.key_id)
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
