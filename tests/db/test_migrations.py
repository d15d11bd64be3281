"""Migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from letter.db.engine import make_engine
from letter.db.migrate import MIGRATIONS, alembic_config, upgrade
from letter.tables import Base


def test_upgrade_head_matches_models(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    try:
        upgrade(engine=engine)
        upgrade(engine=engine)  # a second run is a no-op
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_migration_history_is_linear_and_files_are_dated() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    names = [p.name for p in (MIGRATIONS / "versions").glob("*.py")]
    assert names
    for name in names:
        date, rev, _slug = name.split("_", 2)
        assert len(date) == 10 and date[4] == date[7] == "-", name
        assert script.get_revision(rev) is not None, name
