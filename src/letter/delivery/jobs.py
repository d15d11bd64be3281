"""Background work of delivery: the outbox drain, as the standing work of the
``outbox`` queue (it keeps its own per-message leases)."""

from __future__ import annotations

from letter.delivery.drain import DrainConfig, drain
from letter.delivery.sqlstore import SqlStore
from letter.delivery.transport import Transport
from letter.jobs import JobContext, JobRegistry

__all__ = ["registry"]

registry = JobRegistry()


@registry.pump("outbox.drain", queue="outbox")
def drain_outbox(ctx: JobContext) -> int:
    settings = ctx.settings
    transport: Transport = ctx.service(Transport)
    return drain(SqlStore(ctx.db, settings.sending_domain), transport,
                 DrainConfig.from_settings(settings))
