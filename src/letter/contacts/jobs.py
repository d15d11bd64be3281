"""Background work of contacts: the totals page headers show."""

from __future__ import annotations

import uuid

from letter.contacts.counts import RECOUNT_JOB, recount, recount_stale
from letter.jobs import JobContext, JobRegistry

__all__ = ["registry"]

registry = JobRegistry()


@registry.handler(RECOUNT_JOB)
def recount_project(ctx: JobContext) -> None:
    recount(ctx.session, uuid.UUID(str(ctx.payload["project_id"])))


@registry.handler("contacts.recount-stale", every=60)
def recount_old(ctx: JobContext) -> None:
    # One project per transaction: SQLite holds its write lock meanwhile.
    while True:
        with ctx.db.session() as session:
            if not recount_stale(session, limit=1):
                return
