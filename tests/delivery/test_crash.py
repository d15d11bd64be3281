"""Killing a real ``letter worker`` process mid-batch and starting another
loses no message and sends only the in-flight ones twice at most."""

from __future__ import annotations

import asyncio
import email
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from letter.auth import service as auth_service
from letter.contacts.models import Contact
from letter.db.engine import Database
from letter.delivery import service as delivery
from letter.delivery.models import Message
from letter.projects import service as projects
from tests.conftest import BACKENDS, PG_URL, create_pg_database
from tests.delivery.conftest import doc
from tests.servers import SmtpHandler, SmtpServer

SRC = str(Path(__file__).resolve().parents[2] / "src")
COUNT = 240
BATCH = 40


class SlowHandler(SmtpHandler):
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.01)  # keep a batch in flight long enough to kill the worker
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    assert PG_URL
    url, drop = create_pg_database(PG_URL)
    try:
        yield url
    finally:
        drop()


def run(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "letter.cli.main", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_killed_worker_loses_nothing(database_url: str, tmp_path: Path) -> None:
    server = SmtpServer()
    server.handler = SlowHandler()
    server.controller.handler = server.handler
    server.start()
    env = {**os.environ, "PYTHONPATH": SRC, "LETTER_DATABASE_URL": database_url,
           "LETTER_DATA_DIR": str(tmp_path / "data"), "LETTER_SECRET_KEY": "k",
           "LETTER_EMAIL_TRANSPORT": "smtp", "LETTER_SMTP_URL": server.url,
           "LETTER_OUTBOX_BATCH_SIZE": str(BATCH), "LETTER_OUTBOX_LEASE_SECONDS": "2"}
    subprocess.run([sys.executable, "-m", "letter.cli.main", "db", "upgrade"], env=env,
                   check=True, capture_output=True)
    db = Database.from_url(database_url)
    try:
        with db.session() as session:
            _, workspace, _ = auth_service.bootstrap(session, email="o@acme.test",
                                                     workspace_name="Acme")
            project = projects.create_project(session, workspace.id, "Acme", "UTC")
            for i in range(COUNT):
                contact = Contact(project_id=project.id, email=f"c{i}@example.com", traits={})
                session.add(contact)
                session.flush()
                delivery.queue_message(session, project, contact, kind="bulk", subject="Hi",
                                       body_doc=doc("Hello"), sending_domain="letter.localhost")
        first = run(env, "worker")
        wait_for(lambda: len(server.messages) >= BATCH + 5, 60)
        first.send_signal(signal.SIGKILL)
        first.wait()
        with db.session() as session:
            in_flight = set(session.scalars(
                select(Message.message_id_header).where(Message.state == "sending")))
        assert in_flight, "the worker should have died mid-batch"

        second = run(env, "worker")
        try:
            def done() -> bool:
                with db.session() as session:
                    left = session.scalar(select(func.count()).select_from(Message).where(
                        Message.state != "sent"))
                return left == 0
            wait_for(done, 90)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=20)
    finally:
        server.stop()
        db.engine.dispose()

    received = Counter(email.message_from_bytes(m.data)["Message-ID"] for m in server.messages)
    with db.session() as session:
        all_ids = set(session.scalars(select(Message.message_id_header)))
    assert set(received) == all_ids  # none lost
    twice = {mid for mid, n in received.items() if n > 1}
    assert max(received.values()) <= 2
    assert twice <= in_flight  # only messages that were in flight at the kill
