"""The production layout, for real: ``letter serve --no-worker --workers 2``
and two ``letter worker`` processes on one PostgreSQL with Redis. Rate limits
are shared across API processes; every outbox message is sent exactly once."""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from letter.db.engine import Database
from letter.db.migrate import upgrade
from letter.delivery import service as delivery
from letter.delivery.models import Message
from letter.projects.models import Project
from tests.conftest import PG_URL, create_pg_database
from tests.delivery.conftest import doc
from tests.e2e.conftest import start_server, stop_server
from tests.servers import SmtpServer

REDIS_URL = os.environ.get("LETTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMIT = 40
MESSAGES = 200

pytestmark = pytest.mark.skipif(not PG_URL, reason="the scaled-out layout runs on PostgreSQL")


def test_two_api_processes_and_two_workers_share_limits_and_work(tmp_path: Path) -> None:
    url, drop = create_pg_database(PG_URL or "")
    smtp = SmtpServer().start()
    env = {"LETTER_REDIS_URL": REDIS_URL, "LETTER_RATE_LIMIT": f"{LIMIT}/minute",
           "LETTER_EMAIL_TRANSPORT": "smtp", "LETTER_SMTP_URL": smtp.url,
           "LETTER_SECRET_KEY": "shared-secret"}
    upgrade(url)
    server = start_server(tmp_path / "data", url, {**env}, "--no-worker", "--workers", "2")
    workers: list[subprocess.Popen[bytes]] = []
    db = Database.from_url(url)
    try:
        token = server.bootstrap()["token"]
        # A new connection per call, so both API processes take calls.
        statuses = Counter(
            httpx.get(f"{server.base_url}/v1/me", timeout=10,
                      headers={"Authorization": f"Bearer {token}"}).status_code
            for _ in range(LIMIT + 20)
        )
        assert statuses == Counter({200: LIMIT, 429: 20}), statuses

        other = server.bootstrap()["token"]  # a fresh token: a fresh budget
        made = httpx.post(f"{server.base_url}/v1/projects", timeout=10,
                          headers={"Authorization": f"Bearer {other}"},
                          json={"name": "Acme", "timezone": "UTC"})
        assert made.status_code == 201, made.text
        with db.session() as session:
            project = session.scalars(select(Project)).one()
            for i in range(MESSAGES):
                delivery.queue_message(session, project, None, kind="transactional",
                                       subject="Receipt", body_doc=doc("Thanks"),
                                       to_email=f"c{i}@example.com",
                                       sending_domain="letter.localhost")
        workers = [subprocess.Popen([sys.executable, "-m", "letter.cli.main", "worker"],
                                    env=server.env, stderr=subprocess.DEVNULL)
                   for _ in range(2)]
        deadline = time.monotonic() + 90
        while _unsent(db) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _unsent(db) == 0
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(20)
        stop_server(server)
        smtp.stop()
        db.engine.dispose()
        drop()
    received = Counter(email.message_from_bytes(m.data)["Message-ID"] for m in smtp.messages)
    assert len(received) == MESSAGES and set(received.values()) == {1}


def _unsent(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Message)
                              .where(Message.state != "sent")) or 0
