"""Background work of idempotency: expired records go."""

from __future__ import annotations

from letter.idempotency.service import prune as prune_records
from letter.jobs import JobContext, JobRegistry

__all__ = ["registry"]

registry = JobRegistry()


@registry.handler("idempotency.prune", every=3600)
def prune(ctx: JobContext) -> None:
    prune_records(ctx.session)
