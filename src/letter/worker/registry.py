"""Every domain's background work, merged: the only place the worker learns
which domains have jobs."""

from __future__ import annotations

from letter.auth import jobs as auth_jobs
from letter.broadcasts import jobs as broadcast_jobs
from letter.contacts import jobs as contact_jobs
from letter.delivery import jobs as delivery_jobs
from letter.idempotency import jobs as idempotency_jobs
from letter.imports import jobs as import_jobs
from letter.ingestion import jobs as ingestion_jobs
from letter.jobs import JobRegistry
from letter.jobs import jobs as housekeeping_jobs
from letter.segments import jobs as segment_jobs
from letter.sequences import jobs as sequence_jobs

__all__ = ["default_registry"]


def default_registry() -> JobRegistry:
    return JobRegistry().merge(
        auth_jobs.registry,
        broadcast_jobs.registry,
        contact_jobs.registry,
        delivery_jobs.registry,
        idempotency_jobs.registry,
        import_jobs.registry,
        ingestion_jobs.registry,
        segment_jobs.registry,
        sequence_jobs.registry,
        housekeeping_jobs.registry,
    )
