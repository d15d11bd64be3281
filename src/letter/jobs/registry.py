"""What a domain tells the worker it can run: handlers for job kinds, periodic
jobs, and pumps (standing work a queue polls, such as the outbox drain).

Each domain declares its own registry in ``<domain>/jobs.py``; the worker
merges them and knows nothing else about the domains.

>>> registry = JobRegistry()
>>> @registry.handler("imports.run", queue="imports")
... def run_import(ctx: JobContext) -> None:
...     ...
>>> registry.kinds()
['imports.run']
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from letter.db.engine import Database
from letter.settings import Settings

__all__ = ["Handler", "HandlerFn", "JobContext", "JobRegistry", "Periodic", "Pump", "PumpFn"]

@dataclass
class JobContext:
    """What a handler gets: the runner's session (committed with the job's
    success, so transactional work happens exactly once), the database for
    handlers that need transactions of their own, settings, and the
    process's shared services by type (``ctx.service(Transport)``)."""

    session: Session
    db: Database
    settings: Settings
    payload: dict[str, Any] = field(default_factory=dict)
    job_id: uuid.UUID | None = None
    attempt: int = 1
    services: Mapping[type, object] = field(default_factory=dict)

    def service(self, kind: Any) -> Any:
        """The shared object registered under ``kind`` (a Protocol is fine, so
        the result is untyped: annotate the variable you assign it to)."""
        found = self.services.get(kind)
        if found is None:
            raise LookupError(f"no {kind.__name__} in this worker")
        return found


HandlerFn = Callable[[JobContext], None]
PumpFn = Callable[[JobContext], int]


@dataclass(frozen=True)
class Handler:
    kind: str
    queue: str
    run: HandlerFn
    max_attempts: int = 5


@dataclass(frozen=True)
class Periodic:
    """Enqueued once per period (its unique key names the period), whatever
    the number of workers."""

    kind: str
    every: float  # seconds
    queue: str = "default"


@dataclass(frozen=True)
class Pump:
    """Standing work a queue's thread runs whenever it has no job: returns how
    much it did (0 when idle). It keeps its own leases (the outbox does)."""

    name: str
    queue: str
    run: PumpFn


class JobRegistry:
    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.periodic: list[Periodic] = []
        self.pumps: list[Pump] = []

    def handler(
        self, kind: str, *, queue: str = "default", max_attempts: int = 5,
        every: float | None = None,
    ) -> Callable[[HandlerFn], HandlerFn]:
        """Register ``fn`` for jobs of ``kind``; with ``every``, also enqueue
        one such job per period of that many seconds."""

        def register(fn: HandlerFn) -> HandlerFn:
            self.handlers[kind] = Handler(kind, queue, fn, max_attempts)
            if every is not None:
                self.periodic.append(Periodic(kind, every, queue))
            return fn

        return register

    def pump(self, name: str, *, queue: str) -> Callable[[PumpFn], PumpFn]:
        def register(fn: PumpFn) -> PumpFn:
            self.pumps.append(Pump(name, queue, fn))
            return fn

        return register

    def merge(self, *others: JobRegistry) -> JobRegistry:
        for other in others:
            clash = self.handlers.keys() & other.handlers.keys()
            if clash:
                raise ValueError(f"job kinds registered twice: {sorted(clash)}")
            self.handlers.update(other.handlers)
            self.periodic.extend(other.periodic)
            self.pumps.extend(other.pumps)
        return self

    def kinds(self) -> list[str]:
        return sorted(self.handlers)

    def queues(self) -> list[str]:
        names = {h.queue for h in self.handlers.values()} | {p.queue for p in self.pumps}
        return sorted(names)
