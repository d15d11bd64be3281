"""The worker: a thread per queue claims due jobs (and runs the queue's pumps,
such as the outbox drain, when it has no job), and a scheduler enqueues the
periodic jobs once per period. Queues never wait on each other, so a long
import does not stall the outbox.

>>> worker = Worker(runtime, queues=["outbox", "default"])   # doctest: +SKIP
>>> worker.start_thread()                                    # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import UTC, datetime

from letter.delivery.drain import WORKER_ID
from letter.delivery.transport import Transport
from letter.jobs import JobContext, JobRegistry
from letter.jobs import service as jobs
from letter.jobs.registry import PumpFn
from letter.runtime import Runtime
from letter.worker.registry import default_registry
from letter.worker.runner import ClaimedJob, run_job

__all__ = ["Worker"]

log = logging.getLogger("letter.worker")


class Worker:
    def __init__(
        self, runtime: Runtime, registry: JobRegistry | None = None,
        queues: list[str] | None = None, *, owner: str = WORKER_ID, idle_sleep: float = 0.5,
    ) -> None:
        self.runtime = runtime
        self.registry = registry or default_registry()
        known = self.registry.queues()
        unknown = set(queues or []) - set(known)
        if unknown:
            raise ValueError(f"unknown queues {sorted(unknown)}; known: {', '.join(known)}")
        self.queues = queues or known
        self.owner = owner
        self.idle_sleep = idle_sleep
        self.stopping = threading.Event()
        self.services: dict[type, object] = {Transport: runtime.transport}
        self._scheduled: dict[str, int] = {}  # periodic kind -> last period enqueued here

    @property
    def lease(self) -> float:
        return self.runtime.settings.job_lease_seconds

    def schedule_periodic(self, now: float | None = None) -> int:
        """Enqueue each periodic job of this worker's queues once for the
        current period; other workers' enqueues of the same period are no-ops."""
        now = time.time() if now is None else now
        due = []
        for periodic in self.registry.periodic:
            period = math.floor(now / periodic.every)
            if periodic.queue in self.queues and self._scheduled.get(periodic.kind) != period:
                due.append((periodic, period))
        if not due:
            return 0
        added = 0
        with self.runtime.db.session() as session:
            for periodic, period in due:
                handler = self.registry.handlers[periodic.kind]
                start = datetime.fromtimestamp(period * periodic.every, UTC)
                added += jobs.enqueue(
                    session, periodic.kind, queue=periodic.queue, run_at=start,
                    unique_key=f"{periodic.kind}@{start.isoformat()}",
                    max_attempts=handler.max_attempts) is not None
        for periodic, period in due:
            self._scheduled[periodic.kind] = period
        return added

    def claim(self, queue: str) -> ClaimedJob | None:
        with self.runtime.db.session() as session:
            job = jobs.claim(session, [queue], self.owner, self.lease)
            if job is None:
                return None
            return ClaimedJob(job.id, job.kind, dict(job.payload), job.attempts)

    def run_queue_once(self, queue: str) -> int:
        """Run one due job of ``queue``, else its pumps once; returns the work done."""
        job = self.claim(queue)
        if job is not None:
            run_job(job, registry=self.registry, db=self.runtime.db,
                    settings=self.runtime.settings, services=self.services,
                    owner=self.owner, lease=self.lease)
            return 1
        done = 0
        for pump in self.registry.pumps:
            if pump.queue == queue:
                done += self._pump(pump.run)
        return done

    def _pump(self, run: PumpFn) -> int:
        db = self.runtime.db
        with db.session() as session:
            return run(JobContext(session=session, db=db, settings=self.runtime.settings,
                                  services=self.services))

    def run_once(self) -> int:
        """Schedule, then one pass over every queue (tests and benchmarks)."""
        self.schedule_periodic()
        return sum(self.run_queue_once(queue) for queue in self.queues)

    def _queue_loop(self, queue: str) -> None:
        while not self.stopping.is_set():
            try:
                done = self.run_queue_once(queue)
            except Exception:
                log.exception("queue %s: pass failed", queue)
                done = 0
            if not done:
                self.stopping.wait(self.idle_sleep)

    def run(self) -> None:
        log.info("worker %s on queues: %s", self.owner, ", ".join(self.queues))
        threads = [threading.Thread(target=self._queue_loop, args=(q,), daemon=True,
                                    name=f"letter-queue-{q}") for q in self.queues]
        for thread in threads:
            thread.start()
        while not self.stopping.is_set():
            try:
                self.schedule_periodic()
            except Exception:
                log.exception("scheduling periodic jobs failed")
            self.stopping.wait(1.0)
        for thread in threads:
            thread.join()

    def stop(self) -> None:
        self.stopping.set()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="letter-worker", daemon=True)
        thread.start()
        return thread
