"""On PostgreSQL, the batch lookups probe the unique index even on a table
without statistics (a fresh project being imported), locked or not."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from letter.ingestion.lookup import pg_lookup_sql
from letter.projects.models import Project


def test_lookups_use_the_unique_index_whatever_the_statistics(db, project):
    with db.session() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("a PostgreSQL planner question")
        project_id = session.scalar(select(Project.id).where(Project.slug == project["slug"]))
        session.execute(text(
            "INSERT INTO contacts (id, project_id, external_id, traits, created_at, updated_at) "
            "SELECT gen_random_uuid(), :p, 'user_' || g, '{}'::jsonb, now(), now() "
            "FROM generate_series(1, 20000) g"), {"p": project_id})
        wanted = sorted(f"user_{i}" for i in range(100, 200))
        raw = session.connection().connection.driver_connection
        for lock in (False, True):
            sql = pg_lookup_sql("contacts", "id, external_id, account_id", lock=lock)
            with raw.cursor() as cursor:
                cursor.execute("EXPLAIN " + sql, (wanted, project_id), prepare=False)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "uq_contacts_project_id_external_id" in plan, plan
            assert "Seq Scan on contacts" not in plan and "Hash Join" not in plan, plan


def test_the_lookups_probe_one_row_per_key_in_key_order():
    sql = pg_lookup_sql("contacts", "id", lock=True)
    assert "LATERAL" in sql and "FOR UPDATE" in sql and "LIMIT 1" in sql
    assert sql.endswith("ORDER BY wanted.n")
    claim = pg_lookup_sql("contacts", "id", key="email_key", extra=" AND external_id IS NULL",
                          order="created_at, id", lock=False)
    assert "email_key = wanted.email_key AND external_id IS NULL ORDER BY created_at, id LIMIT 1" \
        in claim and "FOR UPDATE" not in claim
