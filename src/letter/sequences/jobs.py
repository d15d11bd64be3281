"""Background work of sequences: the step pump of the ``sequences`` queue.

The pump claims due enrolments itself (the way the outbox drain claims
messages) rather than one ``jobs`` row per step: a step is then one row
update in the transaction that also holds the claim, which is both exact
(nothing commits half-way) and fast (see docs/sequences.md).
"""

from __future__ import annotations

from letter.clock import utcnow
from letter.jobs import JobContext, JobRegistry
from letter.sequences.engine import run_due

__all__ = ["registry"]

registry = JobRegistry()


@registry.pump("sequences.steps", queue="sequences")
def run_steps(ctx: JobContext) -> int:
    # ctx.session commits when the pump returns: claim, steps and outbox rows
    # land together or not at all.
    return run_due(ctx.session, now=utcnow(), sending_domain=ctx.settings.sending_domain,
                   limit=ctx.settings.sequence_batch_size)
