"""Writing an export: the matching contacts in id order, in keyset ranges
written at once by the worker and a child process (``exportparts``), a page
per short read-only transaction, to a CSV with one column per trait key
(nested keys dotted).

The trait columns are known only once every contact has been read. Each
range's rows are written as they are read, under the trait columns that
range has seen so far (each page's new keys sorted and appended); a page
that brings new keys starts a new segment. The header then goes first: the
columns of the first range, then each later range's new ones, in the order
a single pass would have met them. A segment written under exactly those
columns (usually nearly all the rows) is copied as it is; only the rows of
other segments are rewritten with their cells moved to their columns.
Memory holds a page per writer and the keys, whatever the number of contacts.
"""

from __future__ import annotations

import csv
import io
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from letter.clock import utcnow
from letter.db.engine import Database
from letter.imports.csvout import writer
from letter.imports.exportpages import flatten
from letter.imports.exportparts import SPAN, Part, Parts
from letter.imports.exports import expiry
from letter.imports.models import ExportJob, ExportStatus
from letter.imports.notices import export_ready
from letter.imports.storage import export_path, remove
from letter.settings import Settings

__all__ = ["FIXED_COLUMNS", "fail_export", "flatten", "run_export", "write_export"]

FIXED_COLUMNS = ("email", "external_id", "status", "created_at", "updated_at")
TAIL_COLUMNS = ("account", "lists", "topics")


def write_export(db: Database, project_id: uuid.UUID, params: dict[str, Any], target: Path,
                 now: datetime | None = None, *, processes: int | None = None,
                 span: int = SPAN) -> int:
    """Write the CSV to ``target``; returns its number of contacts.
    ``processes`` caps the writers (None: one a core, up to two)."""
    now = now or utcnow()
    try:
        with Parts.start(db, project_id, params, now, target, span=span,
                         processes=processes) as writers:
            parts = writers.run()
        keys = _trait_columns(parts)
        fixed = set(FIXED_COLUMNS) | set(TAIL_COLUMNS)
        header = [*FIXED_COLUMNS, *(f"traits.{k}" if k in fixed else k for k in keys),
                  *TAIL_COLUMNS]
        with target.open("wb") as final:
            csv_text = io.TextIOWrapper(final, encoding="utf-8", newline="", write_through=True)
            writer(csv_text).writerow(header)
            for part in parts:
                _copy_part(part, keys, csv_text)
            csv_text.detach()
    finally:
        for leftover in target.parent.glob(f"{target.name}.*"):
            remove(leftover)
    return sum(part.count for part in parts)


def _trait_columns(parts: list[Part]) -> list[str]:
    keys: list[str] = []
    seen: set[str] = set()
    for part in parts:
        fresh = [k for k in part.keys if k not in seen]
        keys += fresh
        seen.update(fresh)
    return keys


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


def _copy_part(part: Part, keys: list[str], final: io.TextIOWrapper) -> None:
    """The part's rows under the export's trait columns: a segment written
    under exactly those is copied byte for byte; the rows of any other get
    their cells moved to their columns and empty cells where they had none
    (before the account, lists and topics). Both stream: memory stays flat."""
    ends = [start for start, _ in part.segments[1:]] + [part.path.stat().st_size]
    with part.path.open("rb") as body:
        for (start, columns), end in zip(part.segments, ends, strict=True):
            body.seek(start)
            had = part.keys[:columns]
            if had == keys:
                shutil.copyfileobj(_Span(body, end - start), final.buffer)
                continue
            place = {key: i for i, key in enumerate(had)}
            picks = [place.get(key) for key in keys]
            out = writer(final)
            span = io.TextIOWrapper(io.BufferedReader(_Span(body, end - start)),
                                    encoding="utf-8", newline="")
            for row in csv.reader(span):
                traits = row[5:-3]
                out.writerow([*row[:5], *("" if i is None else traits[i] for i in picks),
                              *row[-3:]])


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
