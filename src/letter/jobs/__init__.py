"""Durable background work: the ``jobs`` table, ``enqueue()`` and the registry
domains declare their handlers in. It sits below the domains so any service
can enqueue inside its own transaction; the claim loop lives in ``letter.worker``.
"""

from letter.jobs.models import Job, JobState
from letter.jobs.registry import Handler, JobContext, JobRegistry, Periodic, Pump
from letter.jobs.service import cancel, enqueue

__all__ = [
    "Handler",
    "Job",
    "JobContext",
    "JobRegistry",
    "JobState",
    "Periodic",
    "Pump",
    "cancel",
    "enqueue",
]
