"""Background work of segments: cached counts older than five minutes are
recomputed."""

from __future__ import annotations

from letter.jobs import JobContext, JobRegistry
from letter.segments.service import recount_stale

__all__ = ["registry"]

registry = JobRegistry()


@registry.handler("segments.recount", every=30)
def recount(ctx: JobContext) -> None:
    # One segment per transaction: a count over a large audience takes a while
    # and SQLite holds its write lock for the whole transaction.
    while True:
        with ctx.db.session() as session:
            if not recount_stale(session, limit=1):
                return
