"""Writing an export: the matching contacts in id order, a page per short
transaction, to a CSV with one column per trait key (nested keys dotted).

The trait columns are known only once every contact has been read. Rows are
written as they are read, under the trait columns seen so far (each page's
new keys sorted and appended); a page that brings new keys starts a new
segment. The header then goes first, the last segment (usually nearly all
the rows) is copied as it is, and only the rows of earlier segments are
rewritten with the empty cells they lack. Memory holds a page and the keys,
whatever the number of contacts.
"""

from __future__ import annotations

import csv
import io
import shutil
import uuid
from datetime import datetime
from itertools import repeat
from pathlib import Path
from typing import IO, Any

from letter.clock import utcnow
from letter.db.engine import Database
from letter.imports.csvout import writer
from letter.imports.exportpages import flatten, pages
from letter.imports.exports import expiry
from letter.imports.models import ExportJob, ExportStatus
from letter.imports.notices import export_ready
from letter.imports.storage import export_path, remove
from letter.settings import Settings

__all__ = ["FIXED_COLUMNS", "fail_export", "flatten", "run_export", "write_export"]

PAGE = 5000
FIXED_COLUMNS = ("email", "external_id", "status", "created_at", "updated_at")
TAIL_COLUMNS = ("account", "lists", "topics")


def write_export(db: Database, project_id: uuid.UUID, params: dict[str, Any], target: Path,
                 now: datetime | None = None) -> int:
    """Write the CSV to ``target``; returns its number of contacts."""
    now = now or utcnow()
    body_path = target.with_suffix(".body")
    keys: list[str] = []
    known: set[str] = set()
    segments: list[tuple[int, int]] = []  # (byte offset in the body, trait columns)
    count = 0
    get = dict.get
    try:
        with body_path.open("wb") as raw, io.TextIOWrapper(
                raw, encoding="utf-8", newline="") as body:
            out = writer(body)
            for page in pages(db, project_id, params, now, PAGE):
                fresh = set().union(*page.traits) - known
                if fresh or not segments:
                    keys += sorted(fresh)
                    known |= fresh
                    body.flush()
                    segments.append((raw.tell(), len(keys)))
                # Column by column, without a Python step per cell: a trait a
                # contact lacks is None from dict.get, which csv writes empty.
                traits = [list(map(get, page.traits, repeat(key))) for key in keys]
                out.writerows(zip(*page.head, *traits, *page.tail, strict=True))
                count += len(page)
        fixed = set(FIXED_COLUMNS) | set(TAIL_COLUMNS)
        header = [*FIXED_COLUMNS, *(f"traits.{k}" if k in fixed else k for k in keys),
                  *TAIL_COLUMNS]
        with target.open("wb") as final:
            csv_text = io.TextIOWrapper(final, encoding="utf-8", newline="", write_through=True)
            writer(csv_text).writerow(header)
            _copy_segments(body_path, segments, len(keys), csv_text)
            csv_text.detach()
    finally:
        remove(body_path)
    return count


class _Span(io.RawIOBase):
    """The next ``size`` bytes of ``fh``, as a file of their own."""

    def __init__(self, fh: IO[bytes], size: int) -> None:
        self.fh, self.left = fh, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.fh.read(min(len(buffer), self.left))
        buffer[:len(data)] = data
        self.left -= len(data)
        return len(data)


def _copy_segments(body_path: Path, segments: list[tuple[int, int]], width: int,
                   final: io.TextIOWrapper) -> None:
    """The body after the header: rows written under fewer trait columns get
    their empty cells (before the account, lists and topics); the rest is
    copied byte for byte. Both stream: memory stays flat."""
    ends = [start for start, _ in segments[1:]] + [body_path.stat().st_size]
    with body_path.open("rb") as body:
        for (start, columns), end in zip(segments, ends, strict=True):
            body.seek(start)
            if columns == width:
                shutil.copyfileobj(_Span(body, end - start), final.buffer)
                continue
            out, pad = writer(final), [""] * (width - columns)
            span = io.TextIOWrapper(io.BufferedReader(_Span(body, end - start)),
                                    encoding="utf-8", newline="")
            for row in csv.reader(span):
                out.writerow([*row[:-3], *pad, *row[-3:]])


def run_export(db: Database, settings: Settings, export_id: uuid.UUID) -> None:
    with db.session() as session:
        export = session.get(ExportJob, export_id)
        if export is None or export.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
            return
        export.status = ExportStatus.RUNNING
        project_id, params = export.project_id, dict(export.params)
    path = export_path(settings.data_dir, export_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    try:
        count = write_export(db, project_id, params, part)
    except LookupError as exc:
        remove(part)
        fail_export(db, settings, export_id, str(exc))
        return
    part.replace(path)
    with db.session() as session:
        export = session.get(ExportJob, export_id)
        if export is None:
            remove(path)
            return
        now = utcnow()
        export.status, export.row_count = ExportStatus.COMPLETED, count
        export.size_bytes, export.finished_at = path.stat().st_size, now
        export.expires_at, export.updated_at = expiry(now), now
        session.flush()
        export_ready(session, export, settings)


def fail_export(db: Database, settings: Settings, export_id: uuid.UUID, message: str) -> None:
    with db.session() as session:
        export = session.get(ExportJob, export_id)
        if export is None or export.status == ExportStatus.COMPLETED:
            return
        now = utcnow()
        export.status, export.error, export.finished_at = ExportStatus.FAILED, message, now
        export.updated_at = now
        session.flush()
        export_ready(session, export, settings)
