"""Background work of broadcasts, on the ``broadcasts`` queue (so a large
snapshot never delays the outbox): ``broadcasts.send`` starts a due broadcast
and writes its audience snapshot a chunk per transaction; ``broadcasts.settle``
runs every few seconds to mark finished broadcasts sent."""

from __future__ import annotations

import uuid
from datetime import timedelta

from letter.broadcasts.sending import settle, start
from letter.broadcasts.service import QUEUE, SEND_JOB
from letter.broadcasts.snapshot import write_chunk
from letter.clock import utcnow
from letter.jobs import JobContext, JobRegistry

__all__ = ["registry"]

registry = JobRegistry()


@registry.handler(SEND_JOB, queue=QUEUE, max_attempts=20)
def send(ctx: JobContext) -> None:
    broadcast_id = uuid.UUID(ctx.payload["broadcast_id"])
    with ctx.db.session() as session:
        go = start(session, broadcast_id, utcnow(),
                   timedelta(seconds=ctx.settings.broadcast_max_lateness))
    # One chunk per transaction, each saving its position: a crash loses at
    # most the chunk being written, which the next run writes again.
    while go:
        with ctx.db.session() as session:
            go = write_chunk(session, broadcast_id, ctx.settings.sending_domain, utcnow())


@registry.handler("broadcasts.settle", queue=QUEUE, every=2)
def settle_broadcasts(ctx: JobContext) -> None:
    settle(ctx.session, utcnow())
