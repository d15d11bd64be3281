"""What an import or export tells the rest of Letter when it ends: an email
to whoever started it (through the outbox, like every email Letter sends)
and, after an import, a recount of the project's segments."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.orm import Session

from letter.auth.models import User
from letter.clock import utcnow
from letter.delivery.system import queue_system_email
from letter.imports.links import DownloadLinks
from letter.imports.models import ExportJob, ImportJob
from letter.jobs import enqueue
from letter.segments.service import mark_stale
from letter.settings import Settings

__all__ = ["REPORT_LINK_IN_EMAIL", "export_ready", "import_finished", "stale_segments"]

# The error report link in the notice outlives the API's one-hour link, so an
# email read the next morning still opens it.
REPORT_LINK_IN_EMAIL = timedelta(days=7)


def _links(settings: Settings) -> DownloadLinks:
    return DownloadLinks(settings.secret_key or "", settings.public_url)


def stale_segments(session: Session, project_id: uuid.UUID, why: str) -> None:
    mark_stale(session, project_id)
    enqueue(session, "segments.recount", unique_key=f"segments.recount:{why}")


def _owner_email(session: Session, user_id: uuid.UUID | None) -> str | None:
    user = session.get(User, user_id) if user_id is not None else None
    return user.email if user is not None else None


def import_finished(session: Session, job: ImportJob, settings: Settings) -> None:
    to = _owner_email(session, job.created_by)
    if to is None:
        return
    link = None
    if job.failed:
        link = _links(settings).url("import-errors", job.id,
                                    expires_at=utcnow() + REPORT_LINK_IN_EMAIL)
    queue_system_email(
        session, template="import_finished", to=to,
        subject=f"Your import of {job.filename} {job.status}",
        values={"filename": job.filename, "status": job.status, "error": job.error,
                "total": job.total, "processed": job.processed, "created": job.created,
                "updated": job.updated, "skipped": job.skipped, "failed": job.failed,
                "report_link": link, "import_id": str(job.id)},
        sending_domain=settings.sending_domain)


def export_ready(session: Session, export: ExportJob, settings: Settings) -> None:
    to = _owner_email(session, export.created_by)
    if to is None:
        return
    link = None
    if export.expires_at is not None:
        link = _links(settings).url("export", export.id, expires_at=export.expires_at)
    queue_system_email(
        session, template="export_ready", to=to,
        subject=f"Your contact export is {'ready' if link else export.status}",
        values={"status": export.status, "row_count": export.row_count, "link": link,
                "error": export.error, "export_id": str(export.id)},
        sending_domain=settings.sending_domain)
