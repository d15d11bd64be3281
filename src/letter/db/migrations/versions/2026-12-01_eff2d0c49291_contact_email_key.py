"""contacts.email_key: addresses that differ only in case are one person

Revision ID: eff2d0c49291
Revises: 4f282565d46c
Create Date: 2026-12-01 11:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "eff2d0c49291"
down_revision: str | None = "4f282565d46c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 1000


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_key", sa.String(length=320), nullable=True))
        batch_op.drop_index(batch_op.f("ix_contacts_project_id_email"))
        batch_op.create_index(
            batch_op.f("ix_contacts_project_id_email_key"),
            ["project_id", "email_key"],
            unique=False,
        )
    # The key is Python's casefold (letter.emails.email_key), the same on both
    # databases; SQL lower() would differ on SQLite for non-ASCII addresses.
    contacts = sa.table(
        "contacts",
        sa.column("id", sa.Uuid()),
        sa.column("email", sa.String()),
        sa.column("email_key", sa.String()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(contacts.c.id, contacts.c.email).where(contacts.c.email.is_not(None))
    ).all()
    update = (
        contacts.update()
        .where(contacts.c.id == sa.bindparam("row_id"))
        .values(email_key=sa.bindparam("key"))
    )
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        bind.execute(update, [{"row_id": r.id, "key": r.email.casefold()} for r in chunk])


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_project_id_email_key"))
        batch_op.create_index(
            batch_op.f("ix_contacts_project_id_email"), ["project_id", "email"], unique=False
        )
        batch_op.drop_column("email_key")
