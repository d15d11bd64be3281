"""Saved segments: a named FilterSpec with a match count kept fresh in the background."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from letter.clock import utcnow
from letter.db.base import Base, UTCDateTime, created_at_column, id_column

__all__ = ["Segment"]


class Segment(Base):
    __tablename__ = "segments"
    __table_args__ = (
        Index(None, "project_id", "created_at", "id"),
        Index(None, "counted_at"),
    )

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    filter: Mapped[dict[str, Any]]
    # contacts matching at counted_at; NULL until first counted
    count: Mapped[int | None]
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
