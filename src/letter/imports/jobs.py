"""Background work of imports and exports, on their own queues so a long
import never delays an export, the outbox or the sequence engine."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select, update

from letter.clock import utcnow
from letter.imports.exporting import fail_export, run_export
from letter.imports.exports import EXPORT_JOB, EXPORT_QUEUE
from letter.imports.models import ExportJob
from letter.imports.runner import fail, run_import
from letter.imports.service import IMPORT_JOB, QUEUE
from letter.imports.storage import export_path, remove
from letter.jobs import JobContext, JobRegistry

__all__ = ["registry"]

log = logging.getLogger("letter.imports")

registry = JobRegistry()

IMPORT_ATTEMPTS = 5
EXPORT_ATTEMPTS = 3


@registry.handler(IMPORT_JOB, queue=QUEUE, max_attempts=IMPORT_ATTEMPTS)
def run(ctx: JobContext) -> None:
    import_id = uuid.UUID(ctx.payload["import_id"])
    try:
        run_import(ctx.db, ctx.settings, import_id)
    except Exception as exc:
        if ctx.attempt < IMPORT_ATTEMPTS:
            raise  # retried from the saved offset after a backoff
        log.exception("import %s failed on its last attempt", import_id)
        fail(ctx.db, ctx.settings, import_id,
             f"The import stopped on an unexpected error ({type(exc).__name__}); the rows"
             " counted so far were applied.")


@registry.handler(EXPORT_JOB, queue=EXPORT_QUEUE, max_attempts=EXPORT_ATTEMPTS)
def export(ctx: JobContext) -> None:
    export_id = uuid.UUID(ctx.payload["export_id"])
    try:
        run_export(ctx.db, ctx.settings, export_id)
    except Exception as exc:
        if ctx.attempt < EXPORT_ATTEMPTS:
            raise
        log.exception("export %s failed on its last attempt", export_id)
        fail_export(ctx.db, ctx.settings, export_id,
                    f"The export stopped on an unexpected error ({type(exc).__name__}).")


@registry.handler("exports.prune", queue=EXPORT_QUEUE, every=600)
def prune(ctx: JobContext) -> None:
    """Delete the files of exports whose link has expired."""
    expired = ctx.session.scalars(select(ExportJob.id).where(
        ExportJob.expires_at < utcnow(), ExportJob.size_bytes.is_not(None)))
    for export_id in list(expired):
        remove(export_path(ctx.settings.data_dir, export_id))
        ctx.session.execute(update(ExportJob).where(ExportJob.id == export_id)
                            .values(size_bytes=None))
