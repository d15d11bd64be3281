"""Running an import: count the rows, then walk the file a chunk at a time
from the saved byte offset.

Each chunk is parsed outside any transaction, then applied in one
transaction that also writes its row errors, its counts and the offset after
it — after checking that the saved offset is still the one the chunk starts
at. A run killed at any point therefore resumes at the last committed
offset, and two runs (a lease that expired under a live worker) can never
both apply a chunk: the second finds the offset moved and stops.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from letter.audience.models import ContactList, Topic
from letter.clock import utcnow
from letter.db.engine import Database
from letter.imports.apply import Race, apply_rows, lock_project_imports
from letter.imports.csvfile import count_records
from letter.imports.mapping import Plan
from letter.imports.models import ImportJob, ImportRowError, ImportStatus
from letter.imports.notices import import_finished, stale_segments
from letter.imports.pipeline import Chunk, FileSpec, chunks
from letter.imports.storage import remove, upload_path
from letter.projects.models import Project
from letter.settings import Settings

__all__ = ["fail", "run_import"]

log = logging.getLogger("letter.imports")

RACE_RETRIES = 5


@dataclass(frozen=True)
class _Run:
    id: uuid.UUID
    project_id: uuid.UUID
    spec: FileSpec
    update_existing: bool
    list_ids: list[uuid.UUID]
    topic_ids: list[uuid.UUID]
    trigger_sequences: bool


def _locked(session: Session, import_id: uuid.UUID) -> ImportJob | None:
    return session.scalar(select(ImportJob).where(ImportJob.id == import_id).with_for_update())


def _finish(session: Session, job: ImportJob, status: ImportStatus, settings: Settings,
            error: str | None = None) -> None:
    now = utcnow()
    job.status, job.error, job.finished_at, job.updated_at = status, error, now, now
    session.flush()
    if job.created or job.updated:
        stale_segments(session, job.project_id, f"import:{job.id}")
    import_finished(session, job, settings)


def fail(db: Database, settings: Settings, import_id: uuid.UUID, message: str) -> None:
    """End the import as failed, saying why (the rows applied so far stay)."""
    with db.session() as session:
        job = _locked(session, import_id)
        if job is not None and job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            _finish(session, job, ImportStatus.FAILED, settings, message)
    remove(upload_path(settings.uploads_dir, import_id))


def _start(db: Database, settings: Settings, import_id: uuid.UUID, path: Path
           ) -> tuple[_Run, int, int] | None:
    """Mark the import running (counting its rows the first time); returns
    what the run needs and the saved offset and line, or None to stop."""
    with db.session() as session:
        job = session.get(ImportJob, import_id)
        if job is None or job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            remove(path)  # finished before a crash could delete its file
            return None
        spec = FileSpec(job.id, job.project_id, job.encoding, job.delimiter,
                        Plan.from_json(job.plan), job.has_header)
        run = _Run(job.id, job.project_id, spec, job.dedupe == "update",
                   [uuid.UUID(i) for i in job.lists], [uuid.UUID(i) for i in job.topics],
                   job.trigger_sequences)
        total, position = job.total, job.position
    if not path.exists():
        fail(db, settings, import_id, "The uploaded file is missing; upload it again.")
        return None
    if total is None:
        total = count_records(path, offset=position, encoding=run.spec.encoding,
                              delimiter=run.spec.delimiter)
    with db.session() as session:
        job = _locked(session, import_id)
        if job is None or job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            return None
        if job.status == ImportStatus.QUEUED:
            job.status, job.started_at = ImportStatus.RUNNING, utcnow()
        if job.total is None:
            job.total = total
        return run, job.position, job.line


def _existing(session: Session, model: Any, project_id: uuid.UUID, ids: list[uuid.UUID]
              ) -> list[uuid.UUID]:
    """The ids still there (a list deleted mid-import is left out)."""
    if not ids:
        return []
    return list(session.scalars(select(model.id).where(model.project_id == project_id,
                                                       model.id.in_(ids))))


def _apply_chunk(db: Database, settings: Settings, run: _Run, start: int, chunk: Chunk
                 ) -> bool:
    """Apply one parsed chunk if the import still stands at ``start``; False to stop."""
    for attempt in range(RACE_RETRIES):
        try:
            with db.session() as session:
                lock_project_imports(session, run.project_id)
                job = _locked(session, run.id)
                if job is None or job.status != ImportStatus.RUNNING or job.position != start:
                    return False
                project = session.get(Project, run.project_id)
                assert project is not None
                now = utcnow()
                tally = apply_rows(
                    session, project, chunk.rows, update_existing=run.update_existing, now=now,
                    list_ids=_existing(session, ContactList, run.project_id, run.list_ids),
                    topic_ids=_existing(session, Topic, run.project_id, run.topic_ids),
                    trigger_sequences=run.trigger_sequences)
                if chunk.errors:
                    session.execute(insert(ImportRowError), chunk.errors)
                job.created += tally.created
                job.updated += tally.updated
                job.skipped += tally.skipped
                job.failed += len(chunk.errors)
                job.processed += len(chunk.rows) + len(chunk.errors)
                job.position, job.line, job.updated_at = chunk.end, chunk.line, now
                if chunk.done:
                    _finish(session, job, ImportStatus.COMPLETED, settings)
            return True
        except Race:
            log.info("import %s: a concurrent write raced chunk at %d (attempt %d)",
                     run.id, start, attempt + 1)
    raise RuntimeError(f"import {run.id}: chunk at byte {start} kept racing concurrent writes")


def run_import(db: Database, settings: Settings, import_id: uuid.UUID,
               parallel: bool | None = None) -> None:
    """Run (or resume) an import to its end (``parallel``: parse in a child
    process; by default when much of the file is left)."""
    chunk_rows = max(1, settings.import_chunk_rows)
    path = upload_path(settings.uploads_dir, import_id)
    started = _start(db, settings, import_id, path)
    if started is None:
        return
    run, position, line = started
    if not path.exists():
        return  # cancelled meanwhile
    for chunk in chunks(path, run.spec, position, line, chunk_rows, parallel=parallel):
        if not _apply_chunk(db, settings, run, position, chunk):
            return
        position = chunk.end
    remove(path)
