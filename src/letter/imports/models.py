"""CSV imports and exports: the jobs a team starts and watches.

An import walks its file from a saved byte offset, a chunk per transaction,
and each chunk commits its contacts, its row errors, its counts and the new
offset together, so a run that dies resumes exactly where the last commit
left it and no row is applied twice. An export writes its CSV in id order.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from letter.clock import utcnow
from letter.db.base import Base, JSONType, created_at_column, id_column

__all__ = ["ExportJob", "ExportStatus", "ImportJob", "ImportRowError", "ImportStatus"]


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


IMPORT_FINISHED = (ImportStatus.COMPLETED, ImportStatus.FAILED, ImportStatus.CANCELLED)


class ImportJob(Base):
    __tablename__ = "import_jobs"
    __table_args__ = (Index(None, "project_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=ImportStatus.QUEUED)
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    encoding: Mapped[str] = mapped_column(String(16))
    delimiter: Mapped[str] = mapped_column(String(1))
    has_header: Mapped[bool] = mapped_column(Boolean)
    # The mapping as given, and as resolved to column indexes (``mapping.Plan``).
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedupe: Mapped[str] = mapped_column(String(8))
    lists: Mapped[list[str]] = mapped_column(JSONType(), default=list)  # list ids
    topics: Mapped[list[str]] = mapped_column(JSONType(), default=list)  # topic ids
    trigger_sequences: Mapped[bool] = mapped_column(Boolean, default=False)
    row_count: Mapped[int | None] = mapped_column(Integer)  # as the uploader declared it
    total: Mapped[int | None] = mapped_column(Integer)  # data rows, counted when it starts
    processed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # Where the next record starts: a byte offset into the file and its line number.
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    line: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ImportRowError(Base):
    """One rejected row: its line number in the file, why, and the row as written."""

    __tablename__ = "import_errors"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)


class ExportJob(Base):
    __tablename__ = "export_jobs"
    __table_args__ = (
        Index(None, "project_id", "created_at", "id"),
        Index(None, "created_by", "created_at"),
    )

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=ExportStatus.QUEUED)
    # The filters as given: filter, segment_id, list_id, topic_id, status, email_contains.
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    row_count: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # the download link's end, an hour after ready
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
