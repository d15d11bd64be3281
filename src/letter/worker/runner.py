"""Running one claimed job: the handler's transaction commits together with
the job's success; a failure is recorded in a transaction of its own; a
heartbeat keeps the lease of a long job alive."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from letter.db.engine import Database
from letter.jobs import JobContext, JobRegistry
from letter.jobs import service as jobs
from letter.settings import Settings

__all__ = ["ClaimedJob", "run_job"]

log = logging.getLogger("letter.worker")


@dataclass(frozen=True)
class ClaimedJob:
    id: uuid.UUID
    kind: str
    payload: dict[str, object]
    attempt: int


class _Heartbeat:
    """Extends the lease every third of its length while the handler runs."""

    def __init__(self, db: Database, job_id: uuid.UUID, owner: str, lease: float) -> None:
        self.db, self.job_id, self.owner, self.lease = db, job_id, owner, lease
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="letter-job-heartbeat",
                                       daemon=True)

    def _beat(self) -> None:
        while not self.done.wait(self.lease / 3):
            try:
                with self.db.session() as session:
                    if not jobs.extend_lease(session, self.job_id, self.owner, self.lease):
                        return
            except Exception:
                log.exception("could not extend the lease of job %s", self.job_id)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join()


class LeaseLost(Exception):
    """The job was cancelled or reclaimed while it ran: its work is rolled back."""


def run_job(
    job: ClaimedJob, *, registry: JobRegistry, db: Database, settings: Settings,
    services: Mapping[type, object], owner: str, lease: float,
) -> None:
    handler = registry.handlers.get(job.kind)
    try:
        if handler is None:
            raise LookupError(f"no handler for job kind {job.kind!r} in this worker")
        with _Heartbeat(db, job.id, owner, lease), db.session() as session:
            handler.run(JobContext(session=session, db=db, settings=settings,
                                   payload=dict(job.payload), job_id=job.id,
                                   attempt=job.attempt, services=services))
            if not jobs.mark_succeeded(session, job.id, owner):
                raise LeaseLost(str(job.id))
    except LeaseLost:
        log.warning("job %s (%s) was cancelled or reclaimed while running", job.id, job.kind)
    except Exception as exc:
        log.exception("job %s (%s) failed on attempt %d", job.id, job.kind, job.attempt)
        with db.session() as session:
            jobs.mark_failed_attempt(session, job.id, owner, f"{type(exc).__name__}: {exc}")
