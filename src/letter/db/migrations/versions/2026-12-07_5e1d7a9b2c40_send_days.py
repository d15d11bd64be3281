"""send_days: messages accepted per project and local day, for the daily cap

The cap was checked with a COUNT over the day's sent messages on every outbox
batch, which grows with the day's volume; the counter is one row. It starts
from the last two days' sent messages, dated on each project's calendar.

Revision ID: 5e1d7a9b2c40
Revises: c3a81f0d5e27
Create Date: 2026-12-07 16:40:00
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import letter.db.base

revision: str = "5e1d7a9b2c40"
down_revision: str | None = "c3a81f0d5e27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    days = op.create_table(
        "send_days",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "day"),
    )
    _backfill(days)


def _backfill(days: sa.Table) -> None:
    bind = op.get_bind()
    since = datetime.now(UTC) - timedelta(days=2)
    projects = sa.table("projects", sa.column("id", sa.Uuid()), sa.column("timezone", sa.String))
    messages = sa.table("messages", sa.column("project_id", sa.Uuid()),
                        sa.column("sent_at", letter.db.base.UTCDateTime(timezone=True)))
    for project_id, timezone in bind.execute(sa.select(projects.c.id, projects.c.timezone)):
        zone, counts = ZoneInfo(timezone), Counter[object]()
        rows = bind.execute(sa.select(messages.c.sent_at).where(
            messages.c.project_id == project_id, messages.c.sent_at >= since))
        for (sent_at,) in rows:
            counts[sent_at.astimezone(zone).date()] += 1
        if counts:
            op.bulk_insert(days, [{"project_id": project_id, "day": d, "sent": n}
                                  for d, n in counts.items()])


def downgrade() -> None:
    op.drop_table("send_days")
