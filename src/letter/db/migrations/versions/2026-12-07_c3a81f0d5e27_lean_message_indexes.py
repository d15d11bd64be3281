"""messages: two fewer indexes to maintain per broadcast row

The (project_id, broadcast_id) index repeats the prefix of the unique
(project_id, broadcast_id, contact_id) index; the (project_id, sequence_id)
index only ever serves sequence messages, so it holds only those.

Revision ID: c3a81f0d5e27
Revises: b7d41c0e9a12
Create Date: 2026-12-07 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3a81f0d5e27"
down_revision: str | None = "b7d41c0e9a12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PARTIAL = sa.text("sequence_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_messages_project_id_broadcast_id", table_name="messages")
    op.drop_index("ix_messages_project_id_sequence_id", table_name="messages")
    op.create_index("ix_messages_project_id_sequence_id", "messages",
                    ["project_id", "sequence_id"], unique=False,
                    sqlite_where=_PARTIAL, postgresql_where=_PARTIAL)


def downgrade() -> None:
    op.drop_index("ix_messages_project_id_sequence_id", table_name="messages")
    op.create_index("ix_messages_project_id_sequence_id", "messages",
                    ["project_id", "sequence_id"], unique=False)
    op.create_index("ix_messages_project_id_broadcast_id", "messages",
                    ["project_id", "broadcast_id"], unique=False)
