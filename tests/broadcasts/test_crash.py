"""Real ``letter worker`` processes: one is SIGKILLed mid-send, two more take
over, and every recipient gets the broadcast — nobody skipped, and only the
batch that was in flight at the kill may be sent twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Table, select

from letter.auth import service as auth_service
from letter.broadcasts import service as broadcasts
from letter.broadcasts.models import Broadcast
from letter.clock import utcnow
from letter.contacts.models import Contact
from letter.db.engine import Database
from letter.db.migrate import upgrade
from letter.delivery.counters import read
from letter.delivery.models import Message
from letter.ids import uuid7
from letter.projects import service as projects
from tests.broadcasts.support import DOC
from tests.conftest import BACKENDS, new_database
from tests.servers import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
AUDIENCE = 1500
BATCH = 50


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with new_database(request.param, tmp_path) as url:
        upgrade(url)
        yield url


def start_worker(url: str, smtp: SmtpServer, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "LETTER_DATABASE_URL": url,
           "LETTER_DATA_DIR": str(tmp_path / "data"), "LETTER_SECRET_KEY": "k",
           "LETTER_EMAIL_TRANSPORT": "smtp", "LETTER_SMTP_URL": smtp.url,
           "LETTER_JOB_LEASE_SECONDS": "2", "LETTER_OUTBOX_LEASE_SECONDS": "6",
           "LETTER_OUTBOX_BATCH_SIZE": str(BATCH)}
    return subprocess.Popen([sys.executable, "-m", "letter.cli.main", "worker"], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def seed(db: Database) -> tuple[uuid.UUID, uuid.UUID, list[str]]:
    emails = [f"r{i:05d}@example.com" for i in range(AUDIENCE)]
    now = utcnow()
    with db.session() as session:
        _, ws, _ = auth_service.bootstrap(session, email="o@acme.test", workspace_name="W")
        project = projects.create_project(session, ws.id, "Acme", "UTC")
        session.execute(Table("contacts", Contact.metadata).insert(), [
            {"id": uuid7(), "project_id": project.id, "email": address, "traits": {},
             "created_at": now, "updated_at": now} for address in emails])
        b = broadcasts.create_broadcast(
            session, project.id, from_email=None, subject="Hi", body_doc=DOC,
            audience={"kind": "inline", "filter": {"kind": "group", "op": "and",
                                                   "children": []}})
        broadcasts.schedule(session, project.id, b.id, scheduled_at=None, local_time=False)
        return project.id, b.id, emails


def test_sigkill_mid_send_loses_nobody_and_repeats_at_most_the_batch_in_flight(
        database_url: str, tmp_path: Path) -> None:
    db = Database.from_url(database_url)
    smtp = SmtpServer().start()
    project_id, broadcast_id, emails = seed(db)
    first = start_worker(database_url, smtp, tmp_path)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        wait_until(lambda: len(smtp.messages) >= AUDIENCE // 4, 120)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = len(smtp.messages)
        assert at_kill < AUDIENCE, "sent everything before the kill: grow the audience"
        workers = [start_worker(database_url, smtp, tmp_path) for _ in range(2)]

        def finished() -> bool:
            with db.session() as session:
                return session.scalar(select(Broadcast.status).where(
                    Broadcast.id == broadcast_id)) == "sent"

        wait_until(finished, 180)
    finally:
        for worker in [first, *workers]:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(20)
        smtp.stop()
    got = Counter(rcpt for m in smtp.messages for rcpt in m.rcpt_tos)
    assert set(got) == set(emails)  # nobody skipped
    twice = sum(n - 1 for n in got.values())
    print(f"\n{twice} of {AUDIENCE} sent twice after a SIGKILL (batch size {BATCH})")
    assert twice <= BATCH and max(got.values()) <= 2
    with db.session() as session:
        states = Counter(session.scalars(select(Message.state).where(
            Message.broadcast_id == broadcast_id)))
        counters = read(session, project_id, broadcast_id)
    assert states == Counter({"sent": AUDIENCE})
    assert (counters["sent"], counters["queued"]) == (AUDIENCE, 0)
    db.engine.dispose()
