"""A ``letter worker`` with test handlers, run as a separate process by the
crash and concurrency tests: ``python -m tests.worker.procworker``."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from letter.jobs import JobContext, JobRegistry, enqueue
from letter.runtime import Runtime
from letter.settings import Settings
from letter.worker.loop import Worker

registry = JobRegistry()


@registry.handler("test.record")
def record(ctx: JobContext) -> None:
    """Note which process ran which job (one short append: atomic)."""
    with open(ctx.payload["log"], "a") as log:
        log.write(f"{ctx.job_id} {os.getpid()}\n")
    time.sleep(float(ctx.payload.get("sleep", 0)))


@registry.handler("test.slow-once")
def slow_once(ctx: JobContext) -> None:
    """Hangs on its first attempt (the test kills the process), then does its
    transactional work once."""
    if ctx.attempt == 1:
        Path(ctx.payload["started"]).write_text(str(os.getpid()))
        time.sleep(600)
    enqueue(ctx.session, "test.done", {"of": str(ctx.job_id)})


def main() -> None:
    worker = Worker(Runtime.build(Settings.from_env()), registry, queues=["default"],
                    idle_sleep=0.05)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    worker.run()


if __name__ == "__main__":
    main()
