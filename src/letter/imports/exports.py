"""Contact exports: start one (20 per user per hour), list them, read one with
its signed download link, and find the file behind a link.

>>> export = create_export(session, project.id, user.id, {"status": "subscribed"})  # doctest: +SKIP
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from letter.audience.models import ContactList, Topic
from letter.clock import utcnow
from letter.db.engine import Database
from letter.db.pagination import PageParams, PageResult, paginate
from letter.errors import Invalid, NotFound, RateLimited
from letter.imports.links import LINK_LIFETIME, DownloadLinks
from letter.imports.models import ExportJob, ExportStatus
from letter.imports.storage import export_path
from letter.jobs import enqueue
from letter.segments.filter import parse_filter
from letter.segments.service import get_segment

__all__ = [
    "EXPORTS_PER_HOUR",
    "EXPORT_JOB",
    "EXPORT_QUEUE",
    "create_export",
    "download_url",
    "file_for_download",
    "get_export",
    "list_exports",
]

EXPORT_JOB = "exports.run"
EXPORT_QUEUE = "exports"
EXPORTS_PER_HOUR = 20
WINDOW = timedelta(hours=1)


def _check_rate(session: Session, user_id: uuid.UUID, now: datetime) -> None:
    since = now - WINDOW
    recent = session.execute(
        select(func.count(), func.min(ExportJob.created_at))
        .where(ExportJob.created_by == user_id, ExportJob.created_at > since)).one()
    count, oldest = int(recent[0] or 0), recent[1]
    if count >= EXPORTS_PER_HOUR:
        retry = max(1, math.ceil((oldest + WINDOW - now).total_seconds()))
        raise RateLimited(
            f"At most {EXPORTS_PER_HOUR} exports per user per hour; retry in {retry} s.",
            retryAfter=retry)


def _check_params(session: Session, project_id: uuid.UUID, params: dict[str, Any]) -> None:
    if params.get("filter") is not None:
        parse_filter(params["filter"])
    if params.get("segment_id") is not None:
        try:
            get_segment(session, project_id, uuid.UUID(params["segment_id"]))
        except NotFound as exc:
            raise Invalid(f"segment_id: no segment {params['segment_id']} in this project"
                          ) from exc
    for key, model, name in (("list_id", ContactList, "list"), ("topic_id", Topic, "topic")):
        if params.get(key) is not None:
            found = session.scalar(select(model.id).where(
                model.project_id == project_id, model.id == uuid.UUID(params[key])))
            if found is None:
                raise Invalid(f"{key}: no {name} {params[key]} in this project")


def create_export(session: Session, project_id: uuid.UUID, user_id: uuid.UUID | None,
                  params: dict[str, Any]) -> ExportJob:
    """Queue an export of the contacts matching every filter given (none: all).

    ``params`` keys: filter (a FilterSpec), segment_id, list_id, topic_id,
    status (subscribed | unsubscribed), email_contains; ids as strings.
    """
    now = utcnow()
    params = {k: v for k, v in params.items() if v is not None}
    _check_params(session, project_id, params)
    if user_id is not None:
        _check_rate(session, user_id, now)
    export = ExportJob(project_id=project_id, created_by=user_id, status=ExportStatus.QUEUED,
                       params=params, created_at=now, updated_at=now)
    session.add(export)
    session.flush()
    enqueue(session, EXPORT_JOB, {"export_id": str(export.id)}, queue=EXPORT_QUEUE,
            lock_key=f"export:{export.id}", unique_key=f"export:{export.id}")
    return export


def list_exports(session: Session, project_id: uuid.UUID, page: PageParams
                 ) -> PageResult[ExportJob]:
    stmt = select(ExportJob).where(ExportJob.project_id == project_id)
    return paginate(session, stmt, ExportJob, page, newest_first=True)


def get_export(session: Session, project_id: uuid.UUID, export_id: uuid.UUID) -> ExportJob:
    export = session.scalar(select(ExportJob).where(ExportJob.project_id == project_id,
                                                    ExportJob.id == export_id))
    if export is None:
        raise NotFound("No such export in this project.")
    return export


def download_url(export: ExportJob, links: DownloadLinks, now: datetime) -> str | None:
    """The signed link of a ready export, until it expires."""
    if export.status != ExportStatus.COMPLETED or export.expires_at is None:
        return None
    if export.expires_at <= now:
        return None
    return links.url("export", export.id, expires_at=export.expires_at)


def file_for_download(db: Database, data_dir: Path, export_id: uuid.UUID) -> Path:
    with db.session() as session:
        export = session.get(ExportJob, export_id)
        ready = (export is not None and export.status == ExportStatus.COMPLETED
                 and export.expires_at is not None and export.expires_at > utcnow())
    path = export_path(data_dir, export_id)
    if not ready or not path.exists():
        raise NotFound("This export is no longer available; run it again.")
    return path


def expiry(finished_at: datetime) -> datetime:
    return finished_at + LINK_LIFETIME
