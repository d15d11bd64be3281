"""Migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, select

from letter.auth.service import bootstrap
from letter.clock import utcnow
from letter.db.engine import Database, make_engine
from letter.db.migrate import MIGRATIONS, alembic_config, upgrade
from letter.delivery.models import Message, SendDay
from letter.ids import uuid7
from letter.projects.service import create_project
from letter.tables import Base

DAY = timedelta(days=1)


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


def test_send_days_start_from_the_last_days_sent_messages(fresh_database_url: str) -> None:
    """Upgrading mid-day keeps the daily cap: today's sends so far are counted."""
    engine = make_engine(fresh_database_url)
    try:
        upgrade(engine=engine, revision="c3a81f0d5e27")
        db = Database(engine)
        now = utcnow()
        with db.session() as session:
            _, workspace, _ = bootstrap(session, email="m@example.com", workspace_name="W")
            project = create_project(session, workspace.id, "Acme", "Pacific/Kiritimati")
            session.flush()
            session.execute(insert(Message), [
                {"id": uuid7(), "project_id": project.id, "to_email": f"c{i}@example.com",
                 "kind": "bulk", "priority": 1, "subject": "Hi", "body_doc": {}, "data": {},
                 "state": "sent",
                 "attempts": 1, "next_attempt_at": now, "message_id_header": f"<{i}@x>",
                 "sent_at": sent_at, "created_at": now, "updated_at": now}
                for i, sent_at in enumerate([now, now, now - DAY, now - 9 * DAY])
            ])
            project_id = project.id
        upgrade(engine=engine)
        with db.session() as session:
            rows = session.execute(select(SendDay.day, SendDay.sent)
                                   .where(SendDay.project_id == project_id))
            days = {day: sent for day, sent in rows}
    finally:
        engine.dispose()
    zone = ZoneInfo("Pacific/Kiritimati")
    assert days == {now.astimezone(zone).date(): 2, (now - DAY).astimezone(zone).date(): 1}
