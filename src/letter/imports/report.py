"""The error report of an import: a CSV of the rejected rows — line number,
reason and the row as written — read from the database a page at a time."""

from __future__ import annotations

import uuid
from typing import IO

from letter.db.engine import Database
from letter.errors import NotFound
from letter.imports.csvout import safe, writer
from letter.imports.models import ImportJob
from letter.imports.service import error_rows

__all__ = ["REPORT_HEADER", "write_report"]

REPORT_HEADER = ("line", "reason", "row")
PAGE = 5000


def write_report(db: Database, import_id: uuid.UUID, out: IO[str]) -> int:
    """Write the report to ``out``; returns the rows written."""
    with db.session() as session:
        job = session.get(ImportJob, import_id)
        if job is None:
            raise NotFound("This import no longer exists.")
        session.expunge(job)
    csv_out = writer(out)
    csv_out.writerow(REPORT_HEADER)
    after, written = 0, 0
    while True:
        with db.session() as session:
            page = error_rows(session, job, after, PAGE)
        csv_out.writerows((line, safe(reason), safe(raw)) for line, reason, raw in page)
        written += len(page)
        if len(page) < PAGE:
            return written
        after = page[-1][0]
