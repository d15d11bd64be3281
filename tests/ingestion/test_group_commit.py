"""Single calls that arrive while a transaction commits share the next one
(real threads, real commits, on both databases); a call that fails fails alone."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text

from letter.contacts.models import Contact
from letter.db.engine import Database
from letter.ingestion.groupcommit import GroupCommit
from letter.ingestion.parse import parse_item
from letter.projects.keys import ActiveKey
from letter.projects.models import Project
from tests.ingestion.test_concurrency import make_project


@contextmanager
def contacts_locked(db: Database) -> Iterator[None]:
    """Hold what an identify needs from another connection until the block ends."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database or "", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    with db.engine.connect() as connection:
        connection.execute(text("LOCK TABLE contacts IN EXCLUSIVE MODE"))
        yield
        connection.rollback()


def key_for(db: Database, project_id: uuid.UUID) -> ActiveKey:
    with db.session() as session:
        project = session.get(Project, project_id)
        assert project is not None
        session.expunge(project)
    # Used just now: nothing to record about it.
    return ActiveKey(uuid.uuid4(), project, datetime.now(UTC), time.monotonic())


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class Caller(threading.Thread):
    def __init__(self, db: Database, calls: GroupCommit, key: ActiveKey, body: dict[str, Any]
                 ) -> None:
        super().__init__()
        self.db, self.calls, self.key = db, calls, key
        self.item = parse_item(body, 0, "identify")
        self.accepted: bool | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.db.session() as session:
                self.accepted = self.calls.submit(session, self.key, self.item, False)
        except BaseException as exc:
            self.error = exc


def stored(db: Database) -> dict[str, dict[str, Any]]:
    with db.session() as session:
        return {c.external_id: c.traits for c in session.scalars(select(Contact))
                if c.external_id is not None}


def test_calls_waiting_for_a_commit_share_the_next_transaction(committed_db):
    key = key_for(committed_db, make_project(committed_db))
    calls = GroupCommit()
    with contacts_locked(committed_db):
        first = Caller(committed_db, calls, key, {"user_id": "u0", "traits": {"n": 0}})
        first.start()
        wait_until(lambda: calls._busy)
        bodies = [{"user_id": f"u{i}", "traits": {"n": i}} for i in range(1, 8)]
        # The same message twice: the second is a duplicate, as in a batch.
        bodies += [{"user_id": "u8", "messageId": "m-1", "traits": {"n": 8}},
                   {"user_id": "u8", "messageId": "m-1", "traits": {"n": 9}}]
        waiting = []
        for body in bodies:
            waiting.append(Caller(committed_db, calls, key, body))
            waiting[-1].start()
            wait_until(lambda n=len(waiting): len(calls._waiting) == n)
    for caller in [first, *waiting]:
        caller.join(timeout=30)
        assert caller.error is None, caller.error
    assert [c.accepted for c in [first, *waiting]] == [True] * 9 + [False]
    assert calls.transactions == 2 and calls.calls == 10
    contacts = stored(committed_db)
    assert sorted(contacts) == [f"u{i}" for i in range(9)]
    assert contacts["u8"] == {"n": 8}


def test_a_call_that_fails_in_a_group_fails_alone(committed_db):
    key = key_for(committed_db, make_project(committed_db))
    # A project that does not exist (deleted meanwhile): its contact cannot be stored.
    gone = Project(id=uuid.uuid4(), workspace_id=key.project.workspace_id, slug="gone",
                   name="Gone", timezone="UTC")
    bad_key = ActiveKey(uuid.uuid4(), gone, datetime.now(UTC), time.monotonic())
    calls = GroupCommit()
    with contacts_locked(committed_db):
        first = Caller(committed_db, calls, key, {"user_id": "u0"})
        first.start()
        wait_until(lambda: calls._busy)
        waiting = []
        for user, k in [("u1", key), ("lost", bad_key), ("u2", key)]:
            waiting.append(Caller(committed_db, calls, k, {"user_id": user}))
            waiting[-1].start()
            wait_until(lambda n=len(waiting): len(calls._waiting) == n)
    for caller in [first, *waiting]:
        caller.join(timeout=30)
    assert first.error is None and waiting[0].error is None and waiting[2].error is None
    assert waiting[1].error is not None and waiting[1].accepted is None
    assert sorted(stored(committed_db)) == ["u0", "u1", "u2"]
    # The leader's group, then the three calls of the failed group one by one.
    assert calls.transactions == 3 and calls.calls == 3


def test_groups_of_two_processes_racing_for_a_new_user_keep_every_key(committed_db):
    """Each GroupCommit stands for a process: their transactions race to
    create the same contact, the loser runs its group again and merges."""
    key = key_for(committed_db, make_project(committed_db))
    processes = [GroupCommit(), GroupCommit()]
    barrier = threading.Barrier(16)

    class Racer(Caller):
        def run(self) -> None:
            barrier.wait()
            super().run()

    racers = [Racer(committed_db, processes[i % 2], key,
                    {"user_id": "same", "traits": {f"k{i}": i, "nested": {f"n{i}": i}}})
              for i in range(16)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=60)
        assert racer.error is None, racer.error
    traits = stored(committed_db)["same"]
    assert {k: v for k, v in traits.items() if k != "nested"} == {f"k{i}": i for i in range(16)}
    assert traits["nested"] == {f"n{i}": i for i in range(16)}
