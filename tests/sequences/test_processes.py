"""A real ``letter worker`` SIGKILLed in the middle of a batch of steps:
after a restart every step has run exactly once, and the SMTP server gets
each email once."""

from __future__ import annotations

import email as email_parser
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from letter.db.engine import Database
from letter.db.migrate import upgrade
from letter.delivery.models import Message
from letter.sequences.models import Enrollment, EnrollmentMessage
from tests.conftest import BACKENDS, new_database
from tests.sequences.conftest import SIGNED_UP, chain, email, node
from tests.sequences.support import enrol_contacts, published
from tests.servers import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
CONTACTS = 1200  # enough batches that the kill lands mid-run on an idle machine
EMAILS = ("one", "two", "three")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with new_database(request.param, tmp_path) as url:
        upgrade(url)
        yield url


def start_worker(url: str, tmp_path: Path, queues: str, smtp: SmtpServer | None = None
                 ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LETTER_DATABASE_URL": url, "LETTER_DATA_DIR": str(tmp_path / "d"),
           "LETTER_SECRET_KEY": "k", "LETTER_SEQUENCE_BATCH_SIZE": "20"}
    if smtp is not None:
        env |= {"LETTER_EMAIL_TRANSPORT": "smtp", "LETTER_SMTP_URL": smtp.url}
    return subprocess.Popen([sys.executable, "-m", "letter.cli.main", "worker", "--queues",
                             queues], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def wait_until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def count(db: Database, what) -> int:
    # A plain read at the driver: a session would BEGIN IMMEDIATE on SQLite and
    # queue behind the worker's writes, so the kill would come too late.
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"SELECT count(*) FROM {what.__table__.name}")
        found = int(cursor.fetchone()[0])
        raw.rollback()
        return found
    finally:
        raw.close()


def test_a_killed_worker_loses_no_step_and_sends_no_email_twice(database_url, tmp_path):
    db = Database.from_url(database_url)
    graph = chain(node("t", "trigger"), *(email(n, n) for n in EMAILS),
                  node("w", "wait", duration={"value": 1, "unit": "days"}))
    project_id, sequence_id = published(db, graph, SIGNED_UP)
    enrol_contacts(db, project_id, sequence_id, CONTACTS)
    total = CONTACTS * len(EMAILS)
    first = start_worker(database_url, tmp_path, "sequences")
    try:
        # The first batch (20 enrolments) has committed; kill inside a later one.
        wait_until(lambda: count(db, Message) > 0 or first.poll() is not None, 120)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        done = count(db, Message)
        # A batch commits whole: each enrolment has all of its emails or none.
        assert done % len(EMAILS) == 0 and 0 < done < total
        second = start_worker(database_url, tmp_path, "sequences")
        try:
            wait_until(lambda: count(db, Message) >= total, 120)
            time.sleep(0.5)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
    finally:
        if first.poll() is None:
            first.kill()
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == total
        pairs = Counter(session.execute(select(EnrollmentMessage.enrollment_id,
                                               EnrollmentMessage.node_id)).all())
        assert len(pairs) == total and max(pairs.values()) == 1
        assert set(session.scalars(select(Enrollment.node_id))) == {"w"}
    smtp = SmtpServer().start()
    sender = start_worker(database_url, tmp_path, "outbox", smtp)
    try:
        wait_until(lambda: len(smtp.messages) >= total, 180)
        time.sleep(0.5)
    finally:
        sender.send_signal(signal.SIGTERM)
        sender.wait(20)
        smtp.stop()
        db.engine.dispose()
    received = Counter((m.rcpt_tos[0], email_parser.message_from_bytes(m.data)["Subject"])
                       for m in smtp.messages)
    assert len(received) == total and max(received.values()) == 1
