"""Background work of ingestion: receipts past the dedupe window go."""

from __future__ import annotations

from letter.ingestion.service import prune_receipts
from letter.jobs import JobContext, JobRegistry

__all__ = ["registry"]

registry = JobRegistry()


@registry.handler("ingestion.prune-receipts", every=3600)
def prune(ctx: JobContext) -> None:
    # A chunk per transaction, so a large backlog never holds a long lock.
    while True:
        with ctx.db.session() as session:
            if not prune_receipts(session):
                return
