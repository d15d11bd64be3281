"""On PostgreSQL, the batch lookups probe the unique index even on a table
without statistics (a fresh project being imported), locked or not."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from letter.ingestion.lookup import _lookup_each, contacts_t
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
        c = contacts_t.c
        for lock in (False, True):
            stmt = _lookup_each(contacts_t, (c.id, c.external_id, c.account_id), project_id,
                                {f"user_{i}" for i in range(100, 200)}, lock)
            compiled = stmt.compile(dialect=session.get_bind().dialect)
            explained = session.connection().exec_driver_sql(
                "EXPLAIN " + str(compiled), compiled.params)
            plan = "\n".join(explained.scalars())
            assert "uq_contacts_project_id_external_id" in plan, plan
            assert "Seq Scan on contacts" not in plan and "Hash Join" not in plan, plan


def test_the_lookup_compiles_for_postgresql():
    c = contacts_t.c
    sql = str(_lookup_each(contacts_t, (c.id,), uuid.UUID(int=1), {"a"}, True)
              .compile(dialect=postgresql.dialect()))
    assert "LATERAL" in sql and "FOR UPDATE" in sql and "LIMIT" in sql
