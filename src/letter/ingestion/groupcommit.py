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

>>> calls = GroupCommit()                                          # doctest: +SKIP
>>> calls.ingest(session, key, "identify", {"user_id": "u1"}).as_json()  # doctest: +SKIP
{'accepted': 1, 'duplicates': 0, 'rejected': []}
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field, replace
from itertools import groupby

from sqlalchemy.orm import Session

from letter.clock import utcnow
from letter.ingestion.parse import Item
from letter.ingestion.service import BatchResult, apply_for_project, commit, parse_one, retry_races
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

    def ingest(self, session: Session, key: ActiveKey, kind: str, body: object,
               query_skip: str | None = None) -> BatchResult:
        """One identify, track or group call (a decoded body), validated,
        applied with the calls around it and committed; a bad call is a 400
        and changes nothing."""
        item, skip = parse_one(kind, body, query_skip)
        accepted = self.submit(session, key, item, skip)
        return BatchResult(int(accepted), int(not accepted))

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
    """One transaction for ``calls``; it is theirs alone, so a lost race or a
    deadlock rolls it back and runs it again, with no savepoint."""
    accepted = retry_races(session, lambda: _apply_once(session, calls), savepoint=False)
    commit(session)
    for i, call in enumerate(calls):
        call.accepted, call.error = i in accepted, None


def _apply_once(session: Session, calls: list[_Call]) -> set[int]:
    items = [replace(call.item, index=i) for i, call in enumerate(calls)]
    accepted: set[int] = set()
    # Projects apart (sorted is stable: each keeps its calls' order), then runs
    # of one skip flag.
    order = sorted(range(len(calls)), key=lambda i: calls[i].key.project.id.bytes)
    for (_, skip), run in groupby(order, key=lambda i: (calls[i].key.project.id, calls[i].skip)):
        indexes = list(run)
        project = calls[indexes[0]].key.project
        accepted |= apply_for_project(session, project, [items[i] for i in indexes], skip)
    now = utcnow()
    for key in {id(call.key): call.key for call in calls}.values():
        touch(session, key, now)
    return accepted
