"""Custom sending domains with their DKIM keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from letter.clock import utcnow
from letter.db.base import Base, created_at_column, id_column

__all__ = ["Domain", "DomainStatus"]


class DomainStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    FAILED = "failed"


class Domain(Base):
    __tablename__ = "domains"
    __table_args__ = (
        UniqueConstraint("project_id", "domain"),
        Index(None, "project_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = id_column()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(253))
    kind: Mapped[str] = mapped_column(String(16), default="custom")
    status: Mapped[str] = mapped_column(String(16), default=DomainStatus.PENDING)
    # Three selectors; each has its own RSA-2048 key (private PEM in ``dkim_keys``).
    dkim_tokens: Mapped[dict[str, Any]] = mapped_column()  # {"tokens": [...]}
    dkim_keys: Mapped[dict[str, Any]] = mapped_column()  # {token: private PEM}
    failure_reason: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None]
    last_checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
