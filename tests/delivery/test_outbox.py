"""The outbox drain: priorities, daily cap in the project's timezone, SMTP
retries with backoff, permanent failures, pooled connections, test emails."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update

from letter.delivery import service
from letter.delivery.counters import sent_on
from letter.delivery.drain import next_local_midnight
from letter.delivery.models import Message
from letter.projects.models import Project
from letter.worker.outbox import drain_outbox as drain
from tests.delivery.conftest import doc


def queue(db, project_id, contact, kind="bulk", subject="Hello {{ contact.email }}"):
    with db.session() as session:
        project = session.get(Project, project_id)
        return service.queue_message(session, project, contact, kind=kind, subject=subject,
                                     body_doc=doc("Hi"), sending_domain="letter.localhost").id


def states(db) -> dict:
    with db.session() as session:
        return {m.id: m for m in session.scalars(select(Message))}


def test_daily_cap_defers_to_local_midnight_and_sends_the_next_day(
        db, runtime, project_row, make_contact, smtp):
    with db.session() as session:
        session.execute(update(Project).where(Project.id == project_row.id)
                        .values(daily_send_cap=2))
    contacts = [make_contact(f"c{i}@example.com") for i in range(3)]
    ids = [queue(db, project_row.id, c) for c in contacts]
    now = datetime(2027, 6, 1, 21, 0, tzinfo=UTC)  # 23:00 in Paris
    assert drain(runtime, now=now + timedelta(minutes=1)) == 3
    rows = states(db)
    assert sorted(rows[i].state for i in ids) == ["queued", "sent", "sent"]
    waiting = next(rows[i] for i in ids if rows[i].state == "queued")
    assert waiting.next_attempt_at == datetime(2027, 6, 1, 22, 0, tzinfo=UTC)  # Paris midnight
    assert waiting.reason == "daily send cap reached" and waiting.attempts == 0
    assert len(smtp.messages) == 2
    assert drain(runtime, now=now + timedelta(minutes=30)) == 0  # still the same local day
    assert drain(runtime, now=now + timedelta(hours=1, minutes=1)) == 1
    assert states(db)[waiting.id].state == "sent"
    assert len(smtp.messages) == 3


def test_the_cap_counts_the_days_sends_even_once_their_rows_are_gone(
        db, runtime, project_row, make_contact, smtp):
    """The cap reads the project's send_days row (kept as messages are
    accepted), not a COUNT over the outbox that erasing messages would lower."""
    with db.session() as session:
        session.execute(update(Project).where(Project.id == project_row.id)
                        .values(daily_send_cap=2))
    now = datetime(2027, 6, 1, 9, 0, tzinfo=UTC)
    for i in range(2):
        queue(db, project_row.id, make_contact(f"d{i}@example.com"))
    assert drain(runtime, now=now) == 2
    with db.session() as session:
        assert sent_on(session, project_row.id, date(2027, 6, 1)) == 2
        session.execute(delete(Message))
    late = queue(db, project_row.id, make_contact("late@example.com"))
    assert drain(runtime, now=now + timedelta(hours=1)) == 1
    assert states(db)[late].state == "queued" and len(smtp.messages) == 2
    assert drain(runtime, now=now + timedelta(days=1)) == 1  # a new day on Paris's calendar
    assert states(db)[late].state == "sent"


def test_transactional_and_test_messages_go_first(db, runtime, project_row, make_contact):
    contact = make_contact("p@example.com")
    bulk = [queue(db, project_row.id, contact) for _ in range(3)]
    urgent = queue(db, project_row.id, contact, kind="transactional")
    with db.session() as session:
        project = session.get(Project, project_row.id)
        test = service.queue_message(
            session, project, None, kind="test", to_email="me@acme.test",
            subject="[Test] Check", body_doc=doc("x"), sending_domain="letter.localhost").id
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert drain(runtime, now=later, limit=2) == 2
    rows = states(db)
    assert rows[urgent].state == "sent" and rows[test].state == "sent"
    assert rows[test].subject == "[Test] Check"
    assert all(rows[b].state == "queued" for b in bulk)


def test_transient_failure_retries_with_backoff_and_permanent_fails(
        db, runtime, project_row, make_contact, smtp):
    temp = queue(db, project_row.id, make_contact("temp-x@example.com"))
    perm = queue(db, project_row.id, make_contact("perm-x@example.com"))
    ok = queue(db, project_row.id, make_contact("fine@example.com"))
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert drain(runtime, now=now) == 3
    rows = states(db)
    assert rows[ok].state == "sent"
    assert rows[perm].state == "failed" and rows[perm].reason.startswith("550")
    assert rows[temp].state == "queued" and rows[temp].reason.startswith("451")
    assert rows[temp].next_attempt_at == now + timedelta(seconds=30)
    assert drain(runtime, now=now + timedelta(seconds=10)) == 0
    assert drain(runtime, now=now + timedelta(seconds=31)) == 1
    assert states(db)[temp].attempts == 2
    assert [m.rcpt_tos for m in smtp.messages] == [["fine@example.com"]]


def test_smtp_connections_are_reused_across_batches(db, runtime, project_row, make_contact,
                                                     smtp):
    for i in range(6):
        queue(db, project_row.id, make_contact(f"r{i}@example.com"))
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert drain(runtime, now=later, limit=2) == 2
    assert drain(runtime, now=later, limit=2) == 2
    assert drain(runtime, now=later, limit=2) == 2
    assert len(smtp.messages) == 6
    assert len(smtp.handler.peers) <= runtime.transport.config.pool_size


def test_expired_lease_is_claimed_again(db, runtime, project_row, make_contact, smtp):
    mid = queue(db, project_row.id, make_contact("l@example.com"))
    now = datetime.now(UTC) + timedelta(seconds=1)
    with db.session() as session:  # a worker claimed it and died
        session.execute(update(Message).where(Message.id == mid).values(
            state="sending", lease_owner="dead", lease_expires_at=now + timedelta(seconds=60)))
    assert drain(runtime, now=now) == 0
    assert drain(runtime, now=now + timedelta(seconds=61)) == 1
    assert states(db)[mid].state == "sent"


def test_next_local_midnight_across_dst():
    now = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # the night Paris moves to summer time
    midnight = next_local_midnight(now, "Europe/Paris")
    assert midnight.astimezone(ZoneInfo("Europe/Paris")).hour == 0
    assert midnight == datetime(2026, 3, 29, 23, 0, tzinfo=UTC) - timedelta(hours=1)


def test_sends_to_the_contacts_current_address(db, runtime, project_row, make_contact, smtp):
    contact = make_contact("old@example.com", traits={"name": "Ada"})
    mid = queue(db, project_row.id, contact)
    with db.session() as session:
        session.get(type(contact), contact.id).email = "new@example.com"
    drain(runtime, now=datetime.now(UTC) + timedelta(seconds=1))
    assert smtp.messages[0].rcpt_tos == ["new@example.com"]
    assert states(db)[mid].to_email == "new@example.com"
