"""Housekeeping of the jobs table itself."""

from __future__ import annotations

from letter.jobs.registry import JobContext, JobRegistry
from letter.jobs.service import prune_finished

__all__ = ["registry"]

registry = JobRegistry()


@registry.handler("jobs.prune", every=3600)
def prune(ctx: JobContext) -> None:
    while True:
        with ctx.db.session() as session:
            if not prune_finished(session):
                return
