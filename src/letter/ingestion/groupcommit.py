"""Group commit: concurrent single calls in one process share one transaction.

Each identify, track or group call alone pays a transaction's fixed costs
(a connection, on SQLite the write lock, the per-batch reads, the commit
and its WAL flush), which are most of its cost. Calls that arrive while a
transaction is being applied wait for it to end and then go together: the
first of them leads, applying every waiting call in one transaction, in
arrival order, exactly as a batch of them would be; each call is answered
only after the commit that holds it. An idle server sees no delay: a lone
call leads its own group at once.

If a group's transaction fails, its calls are applied again one by one, so
a call's error is its own.

>>> calls = GroupCommit()                                     # doctest: +SKIP
>>> result = calls.submit(session, key, item, skip=False)     # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field, replace
from itertools import groupby

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from letter.clock import utcnow
from letter.errors import Conflict
from letter.ingestion.parse import Item
from letter.ingestion.service import MAX_ATTEMPTS, Race, apply_for_project, is_deadlock
from letter.projects.keys import ActiveKey, touch

__all__ = ["MAX_GROUP", "GroupCommit"]

# Calls per transaction: a batch's worth.
MAX_GROUP = 100


@dataclass(eq=False)
class _Call:
    key: ActiveKey
    item: Item
    skip: bool
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    accepted: bool = False
    # Until the call's transaction commits, it has not been applied.
    error: BaseException | None = field(
        default_factory=lambda: RuntimeError("the call's transaction did not finish"))


class GroupCommit:
    """Applies single calls in shared transactions (see the module's doc)."""

    def __init__(self, max_group: int = MAX_GROUP) -> None:
        self.max_group = max_group
        self._lock = threading.Lock()
        self._waiting: deque[_Call] = deque()
        self._busy = False
        # Committed transactions and the calls they held, since start.
        self.transactions = 0
        self.calls = 0

    def submit(self, session: Session, key: ActiveKey, item: Item, skip: bool) -> bool:
        """Apply one validated call and commit it; True if it was accepted,
        False if its ``message_id`` made it a duplicate. Raises what applying
        it alone would raise."""
        call = _Call(key, item, skip)
        with self._lock:
            self._waiting.append(call)
            call.lead = not self._busy
            self._busy = True
        if not call.lead:
            call.done.wait()
        if call.lead:
            self._lead(session)
        if call.error is not None:
            raise call.error
        return call.accepted

    def _lead(self, session: Session) -> None:
        with self._lock:
            group = [self._waiting.popleft()
                     for _ in range(min(self.max_group, len(self._waiting)))]
        committed = 0
        try:
            committed = _apply_group(session, group)
        finally:
            with self._lock:
                self.transactions += committed
                self.calls += sum(call.error is None for call in group)
                if self._waiting:
                    following = self._waiting[0]
                    following.lead = True
                    following.done.set()
                else:
                    self._busy = False
            for call in group:
                call.lead = False
                call.done.set()


def _apply_group(session: Session, group: list[_Call]) -> int:
    """Apply and commit ``group``; returns how many transactions committed."""
    if len(group) > 1:
        try:
            _apply_and_commit(session, group)
            return 1
        except Exception:  # each call is retried alone and gets its own error
            session.rollback()
    committed = 0
    for call in group:
        try:
            _apply_and_commit(session, [call])
            committed += 1
        except Exception as exc:  # raised again in the call's own thread
            session.rollback()
            call.error = exc
    return committed


def _apply_and_commit(session: Session, calls: list[_Call]) -> None:
    """One transaction for ``calls``. A race lost to another process for a
    new contact (PostgreSQL) or a deadlock rolls it back and runs it again:
    the whole transaction is the group's, so no savepoint is needed."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            accepted = _apply_once(session, calls)
            break
        except (Race, OperationalError) as exc:
            session.rollback()
            retry = isinstance(exc, Race) or is_deadlock(exc)
            if not retry or attempt == MAX_ATTEMPTS:
                raise
    try:
        session.commit()
    except IntegrityError as exc:
        raise Conflict("The request conflicts with current data.") from exc
    for i, call in enumerate(calls):
        call.accepted, call.error = i in accepted, None


def _apply_once(session: Session, calls: list[_Call]) -> set[int]:
    items = [replace(call.item, index=i) for i, call in enumerate(calls)]
    accepted: set[int] = set()
    order = sorted(range(len(calls)), key=lambda i: calls[i].key.project.id.bytes)
    for _, indexes in groupby(order, key=lambda i: calls[i].key.project.id):
        mine = list(indexes)
        # Within a project the calls keep their order; runs of one skip flag.
        for skip, run in groupby(mine, key=lambda i: calls[i].skip):
            chosen = [items[i] for i in run]
            accepted |= apply_for_project(session, calls[chosen[0].index].key.project,
                                          chosen, skip)
    now = utcnow()
    for key in {id(call.key): call.key for call in calls}.values():
        touch(session, key, now)
    return accepted
