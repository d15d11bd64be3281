"""CSV imports: check an upload, store it, queue it; list, read, cancel; the
error report's rows; the preview that suggests a mapping.

Everything about the upload is checked before anything is stored, so a bad
upload changes nothing: a missing file, a mapping that is not JSON, names an
unknown field or a column the file lacks, or maps neither email nor
external_id, is refused whole.

>>> job = create_import(session, project.id, user.id, Upload(fh, "people.csv"),
...                     mapping='{"Email": "email"}', uploads_dir=path)  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from letter.audience.models import ContactList, Topic
from letter.clock import utcnow
from letter.db.pagination import PageParams, PageResult, paginate
from letter.errors import Conflict, Invalid, NotFound
from letter.ids import uuid7
from letter.imports import guess
from letter.imports.csvfile import (
    SAMPLE_BYTES,
    RecordReader,
    Sample,
    not_text_reason,
    sniff,
    utf8_checker,
)
from letter.imports.mapping import parse_mapping, resolve
from letter.imports.models import IMPORT_FINISHED, ImportJob, ImportRowError, ImportStatus
from letter.imports.storage import remove, upload_path
from letter.jobs import Job, enqueue
from letter.jobs import cancel as cancel_job

__all__ = [
    "IMPORT_JOB",
    "QUEUE",
    "Upload",
    "cancel_import",
    "create_import",
    "error_rows",
    "get_import",
    "list_imports",
    "preview",
]

IMPORT_JOB = "imports.run"
QUEUE = "imports"
COPY_CHUNK = 1024 * 1024
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")


@dataclass(frozen=True)
class Upload:
    fileobj: BinaryIO
    filename: str


@dataclass(frozen=True)
class _Stored:
    size: int
    sample: Sample


def _has_header(raw: str | None) -> bool | None:
    value = (raw or "auto").strip().lower()
    if value == "auto":
        return None
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise Invalid('has_header: one of "auto", "true" or "false"')


def _ids(name: str, values: list[str]) -> list[uuid.UUID]:
    """Ids from repeated form fields, each a JSON array or comma-separated."""
    found: list[uuid.UUID] = []
    for value in values:
        value = value.strip()
        items: Any = value.split(",")
        if value.startswith("["):
            try:
                items = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise Invalid(f"{name}: not a JSON array of ids") from exc
        for item in items if isinstance(items, list) else [items]:
            try:
                ident = uuid.UUID(str(item).strip())
            except ValueError as exc:
                raise Invalid(f'{name}: "{str(item)[:64]}" is not an id') from exc
            if ident not in found:
                found.append(ident)
    return found


def _existing(session: Session, model: Any, project_id: uuid.UUID, name: str,
              ids: list[uuid.UUID]) -> list[str]:
    if not ids:
        return []
    known = set(session.scalars(select(model.id).where(model.project_id == project_id,
                                                       model.id.in_(ids))))
    missing = [str(i) for i in ids if i not in known]
    if missing:
        raise Invalid(f"{name}: no {name[:-1]} {', '.join(missing)} in this project")
    return [str(i) for i in ids]


def _read_upload(upload: Upload, target: Path | None, limit: int | None = None) -> _Stored:
    """Copy the upload to ``target`` (None: read only), checking it is text
    and whether it is UTF-8 from end to end."""
    checker, utf8, head, size = utf8_checker(), True, b"", 0
    cr_only: bool | None = None
    out = target.open("wb") if target is not None else None
    try:
        while chunk := upload.fileobj.read(COPY_CHUNK):
            if cr_only is None:
                # Excel for Mac's "CSV (Macintosh)" ends lines with a bare CR:
                # stored with LF instead, it reads like any other file.
                cr_only = b"\r" in chunk[:SAMPLE_BYTES] and b"\n" not in chunk[:SAMPLE_BYTES]
            if cr_only:
                chunk = chunk.replace(b"\r", b"\n")
            if len(head) < SAMPLE_BYTES:
                head += chunk[:SAMPLE_BYTES - len(head)]
                reason = not_text_reason(head)
                if reason:
                    raise Invalid(f"file: {reason}")
            size += len(chunk)
            if utf8:
                try:
                    checker.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if out is not None:
                out.write(chunk)
            elif limit is not None and size > limit:
                break
        if utf8:
            try:
                checker.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    finally:
        if out is not None:
            out.close()
    if size == 0:
        raise Invalid("file: the file is empty")
    sample = sniff(head, whole_file_utf8=utf8, complete=size <= SAMPLE_BYTES)
    if not sample.rows:
        raise Invalid("file: no CSV rows found in the file")
    return _Stored(size, sample)


def _first_record_end(path: Path, sample: Sample) -> tuple[int, int]:
    """Offset and line number just after the header record."""
    with path.open("rb") as fh:
        reader = RecordReader(fh, offset=sample.start, line=1, encoding=sample.encoding,
                              delimiter=sample.delimiter)
        next(iter(reader), None)
        return reader.offset, reader.next_line


def create_import(
    session: Session, project_id: uuid.UUID, user_id: uuid.UUID | None, upload: Upload | None,
    *, mapping: str | None, uploads_dir: Path, dedupe: str | None = None,
    has_header: str | None = None, lists: list[str] | None = None,
    topics: list[str] | None = None, row_count: int | None = None,
    trigger_sequences: bool = False,
) -> ImportJob:
    """Check the upload and its options, store the file, queue the import."""
    if upload is None:
        raise Invalid("file: send the CSV as multipart/form-data field 'file'")
    dedupe = (dedupe or "update").strip().lower()
    if dedupe not in ("update", "skip"):
        raise Invalid('dedupe: one of "update" or "skip"')
    header_choice = _has_header(has_header)
    checked = parse_mapping(mapping)
    if row_count is not None and row_count < 0:
        raise Invalid("rowCount: must not be negative")
    list_ids = _existing(session, ContactList, project_id, "lists", _ids("lists", lists or []))
    topic_ids = _existing(session, Topic, project_id, "topics", _ids("topics", topics or []))
    import_id = uuid7()
    target = upload_path(uploads_dir, import_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_suffix(".part")
    try:
        stored = _read_upload(upload, part)
        sample = stored.sample
        header_row = guess.has_header(sample.rows, checked) if header_choice is None \
            else header_choice
        header = sample.rows[0] if header_row else None
        plan = resolve(checked, header, len(sample.rows[0]))
        position, line = (_first_record_end(part, sample) if header_row
                          else (sample.start, 1))
        job = ImportJob(
            id=import_id, project_id=project_id, created_by=user_id,
            status=ImportStatus.QUEUED, filename=(upload.filename or "upload.csv")[:255],
            size_bytes=stored.size, encoding=sample.encoding, delimiter=sample.delimiter,
            has_header=header_row, mapping=checked, plan=plan.to_json(), dedupe=dedupe,
            lists=list_ids, topics=topic_ids, trigger_sequences=trigger_sequences,
            row_count=row_count, position=position, line=line,
        )
        session.add(job)
        session.flush()
        enqueue(session, IMPORT_JOB, {"import_id": str(import_id)}, queue=QUEUE,
                lock_key=f"import:{import_id}", unique_key=f"import:{import_id}")
        part.replace(target)
    except BaseException:
        remove(part)
        raise
    return job


def preview(upload: Upload | None, *, has_header: str | None = None,
            max_bytes: int | None = None) -> dict[str, Any]:
    """What the file looks like and a suggested mapping, storing nothing."""
    if upload is None:
        raise Invalid("file: send the CSV as multipart/form-data field 'file'")
    choice = _has_header(has_header)
    sample = _read_upload(upload, None, max_bytes).sample
    header_row = guess.has_header(sample.rows) if choice is None else choice
    return {"encoding": sample.encoding, "delimiter": sample.delimiter,
            "has_header": header_row, "columns": guess.columns(sample.rows, header_row)}


def list_imports(session: Session, project_id: uuid.UUID, page: PageParams
                 ) -> PageResult[ImportJob]:
    stmt = select(ImportJob).where(ImportJob.project_id == project_id)
    return paginate(session, stmt, ImportJob, page, newest_first=True)


def get_import(session: Session, project_id: uuid.UUID, import_id: uuid.UUID) -> ImportJob:
    job = session.scalar(select(ImportJob).where(ImportJob.project_id == project_id,
                                                 ImportJob.id == import_id))
    if job is None:
        raise NotFound("No such import in this project.")
    return job


def cancel_import(session: Session, project_id: uuid.UUID, import_id: uuid.UUID,
                  uploads_dir: Path) -> ImportJob:
    """Stop an import: rows already applied stay, the rest is never read."""
    job = get_import(session, project_id, import_id)
    if job.status in IMPORT_FINISHED:
        raise Conflict(f"The import is already {job.status}.")
    now = utcnow()
    job.status, job.finished_at, job.updated_at = ImportStatus.CANCELLED, now, now
    queued = session.scalar(select(Job.id).where(Job.unique_key == f"import:{import_id}"))
    if queued is not None:
        cancel_job(session, queued)
    session.flush()
    # A running worker keeps its open handle; no new run can start.
    remove(upload_path(uploads_dir, import_id))
    return job


def error_rows(session: Session, job: ImportJob, after_line: int, limit: int
               ) -> list[tuple[int, str, str]]:
    """Up to ``limit`` rejected rows after ``after_line``, in file order."""
    rows = session.execute(
        select(ImportRowError.line, ImportRowError.reason, ImportRowError.raw)
        .where(ImportRowError.project_id == job.project_id,
               ImportRowError.import_id == job.id, ImportRowError.line > after_line)
        .order_by(ImportRowError.line).limit(limit))
    return [(line, reason, raw) for line, reason, raw in rows]
