"""The worker: runs due jobs in a loop until told to stop.

Each job takes a Session and returns how much it did; the loop owns the
transaction (one per job run), so a failed run changes nothing.

>>> worker = Worker(runtime, jobs=default_jobs())   # doctest: +SKIP
>>> worker.run_once()                                # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from letter.auth import web_sessions
from letter.idempotency import service as idempotency
from letter.ingestion import service as ingestion
from letter.runtime import Runtime
from letter.segments import service as segments

__all__ = ["Job", "Worker", "default_jobs"]

log = logging.getLogger("letter.worker")

JobFn = Callable[[Session, Runtime], int]


@dataclass
class Job:
    name: str
    every: float  # seconds between runs when idle
    run: JobFn
    next_at: float = field(default=0.0)


def _prune_idempotency(session: Session, _runtime: Runtime) -> int:
    return idempotency.prune(session)


def _prune_receipts(session: Session, _runtime: Runtime) -> int:
    return ingestion.prune_receipts(session)


def _prune_sign_ins(session: Session, _runtime: Runtime) -> int:
    return web_sessions.prune_expired(session)


def _recount_segments(session: Session, _runtime: Runtime) -> int:
    # One segment per transaction: a count over a large audience takes a while and
    # SQLite holds its write lock for the whole transaction. A job that did work
    # runs again at once, so a backlog still drains.
    return segments.recount_stale(session, limit=1)


def _drain_outbox(_session: Session, runtime: Runtime) -> int:
    # The drain runs its own short transactions (claim, load, finish) so no
    # transaction stays open while it renders and talks SMTP.
    from letter.delivery.drain import drain

    return drain(runtime)


def default_jobs() -> list[Job]:
    return [
        Job("outbox", every=0.5, run=_drain_outbox),
        Job("prune-idempotency", every=3600, run=_prune_idempotency),
        Job("prune-message-receipts", every=3600, run=_prune_receipts),
        Job("prune-sign-ins", every=3600, run=_prune_sign_ins),
        Job("recount-segments", every=30, run=_recount_segments),
    ]


class Worker:
    def __init__(
        self, runtime: Runtime, jobs: list[Job] | None = None, idle_sleep: float = 0.5
    ) -> None:
        self.runtime = runtime
        self.jobs = jobs if jobs is not None else default_jobs()
        self.idle_sleep = idle_sleep
        self.stopping = threading.Event()

    def run_once(self, now: float | None = None) -> int:
        """Run every job that is due; returns the total work done."""
        now = time.monotonic() if now is None else now
        done = 0
        for job in self.jobs:
            if job.next_at > now:
                continue
            try:
                with self.runtime.db.session() as session:
                    count = job.run(session, self.runtime)
            except Exception:
                log.exception("job %s failed", job.name)
                count = 0
            done += count
            # A job that found work runs again at once; an idle one waits.
            job.next_at = now if count else now + job.every
        return done

    def run(self) -> None:
        log.info("worker started with jobs: %s", ", ".join(j.name for j in self.jobs))
        while not self.stopping.is_set():
            if not self.run_once():
                self.stopping.wait(self.idle_sleep)

    def stop(self) -> None:
        self.stopping.set()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="letter-worker", daemon=True)
        thread.start()
        return thread
