"""messages.body_doc may be null: a broadcast's rows take the broadcast's body

A copy of the body in every recipient's row was two thirds of the row, and
of the bytes a broadcast's snapshot wrote.

Revision ID: 9d2e4b7a1c63
Revises: 5e1d7a9b2c40
Create Date: 2026-12-08 00:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

import letter.db.base

revision: str = "9d2e4b7a1c63"
down_revision: str | None = "5e1d7a9b2c40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("body_doc", existing_type=letter.db.base.JSONType(), nullable=True)


def downgrade() -> None:
    op.execute(
        "UPDATE messages SET body_doc = (SELECT b.body_doc FROM broadcasts b"
        " WHERE b.id = messages.broadcast_id) WHERE body_doc IS NULL"
    )
    op.execute("UPDATE messages SET body_doc = '{}' WHERE body_doc IS NULL")
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("body_doc", existing_type=letter.db.base.JSONType(), nullable=False)
