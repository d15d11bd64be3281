"""One pass of the outbox drain with a process's runtime (its database,
settings and transport), for the CLI, benchmarks and tests.

>>> drain_outbox(runtime)   # doctest: +SKIP
3
"""

from __future__ import annotations

from datetime import datetime

from letter.delivery.drain import WORKER_ID, DrainConfig, drain
from letter.delivery.sqlstore import SqlStore
from letter.runtime import Runtime

__all__ = ["drain_outbox"]


def drain_outbox(runtime: Runtime, *, owner: str = WORKER_ID, now: datetime | None = None,
                 limit: int | None = None) -> int:
    settings = runtime.settings
    return drain(SqlStore(runtime.db, settings.sending_domain), runtime.transport,
                 DrainConfig.from_settings(settings), owner=owner, now=now, limit=limit)
