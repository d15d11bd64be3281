"""The worker over real commits: periodic jobs once per period whatever the
number of workers, queues that never wait on each other, failing handlers
retried then failed, system emails that wait for SMTP to come back."""

from __future__ import annotations

import email
import re
import threading
import time
from dataclasses import replace
from email import policy

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from letter.app import create_app
from letter.auth import service as auth_service
from letter.clock import utcnow
from letter.contacts.models import Contact
from letter.delivery import service as delivery
from letter.delivery.models import Message
from letter.jobs import Job, JobContext, JobRegistry, JobState, enqueue
from letter.projects import service as projects
from letter.runtime import Runtime
from letter.worker.loop import Worker
from letter.worker.outbox import drain_outbox
from letter.worker.registry import default_registry
from tests.delivery.conftest import doc
from tests.servers import SmtpServer, free_port


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_periodic_job_runs_once_per_period_with_two_workers(committed_db, settings):
    runs: list[str] = []
    registry = JobRegistry()

    @registry.handler("test.tick", every=60)
    def tick(ctx: JobContext) -> None:
        runs.append(str(ctx.job_id))

    runtime = Runtime.build(settings, db=committed_db)
    workers = [Worker(runtime, registry, owner=f"w{i}") for i in (1, 2)]
    period_start = (time.time() // 60) * 60 - 600  # ten minutes ago, on a period boundary
    for now in (period_start + 1, period_start + 30, period_start + 59):
        for worker in workers:
            worker.schedule_periodic(now=now)
            worker._scheduled.clear()  # as if each pass were a freshly started process
    for worker in workers:
        while worker.run_queue_once("default"):
            pass
    assert len(runs) == 1
    for worker in workers:
        worker.schedule_periodic(now=period_start + 61)
        while worker.run_queue_once("default"):
            pass
    assert len(runs) == 2


def test_a_failing_handler_is_retried_with_backoff_then_failed(committed_db, settings):
    registry = JobRegistry()
    attempts: list[int] = []

    @registry.handler("test.flaky", max_attempts=3)
    def flaky(ctx: JobContext) -> None:
        attempts.append(ctx.attempt)
        enqueue(ctx.session, "test.side-effect")  # rolled back with the failure
        raise RuntimeError(f"relay said no ({ctx.attempt})")

    worker = Worker(Runtime.build(settings, db=committed_db), registry)
    with committed_db.session() as session:
        job_id = enqueue(session, "test.flaky", max_attempts=3)
    for attempt in (1, 2, 3):
        assert worker.run_queue_once("default") == 1
        with committed_db.session() as session:
            job = session.get(Job, job_id)
        assert job.last_error == f"RuntimeError: relay said no ({attempt})"
        if attempt < 3:
            assert job.state == JobState.QUEUED and job.run_at > utcnow()
            assert worker.run_queue_once("default") == 0  # not before its backoff
            with committed_db.session() as session:
                session.execute(update(Job).values(run_at=utcnow()))
        else:
            assert job.state == JobState.FAILED
    assert attempts == [1, 2, 3]
    with committed_db.session() as session:
        assert session.scalars(select(Job.kind)).all() == ["test.flaky"]


def _queue_one_email(db, settings) -> None:
    with db.session() as session:
        _, ws, _ = auth_service.bootstrap(session, email="o@acme.test", workspace_name="W")
        project = projects.create_project(session, ws.id, "Acme", "UTC")
        contact = Contact(project_id=project.id, email="ada@example.com", traits={})
        session.add(contact)
        session.flush()
        delivery.queue_message(session, project, contact, kind="transactional",
                               subject="Receipt", body_doc=doc("Thanks"),
                               sending_domain=settings.sending_domain)


def test_a_slow_job_on_another_queue_does_not_delay_the_outbox(committed_db, settings):
    release = threading.Event()
    registry = default_registry()
    slow = JobRegistry()

    @slow.handler("test.slow-import", queue="imports")
    def slow_import(ctx: JobContext) -> None:
        release.wait(30)  # a 30-second import, unless the test ends it sooner

    registry.merge(slow)
    worker = Worker(Runtime.build(settings, db=committed_db), registry, idle_sleep=0.05)
    with committed_db.session() as session:
        job_id = enqueue(session, "test.slow-import", queue="imports")
    thread = worker.start_thread()
    try:
        wait_until(lambda: _job_state(committed_db, job_id) == JobState.RUNNING)
        started = time.monotonic()
        _queue_one_email(committed_db, settings)
        wait_until(lambda: len(list(settings.outbox_dir.glob("*.eml"))) == 1)
        assert time.monotonic() - started < 5
        assert _job_state(committed_db, job_id) == JobState.RUNNING  # still importing
    finally:
        release.set()
        wait_until(lambda: _job_state(committed_db, job_id) == JobState.SUCCEEDED)
        worker.stop()
        thread.join(10)


def _job_state(db, job_id) -> str:
    with db.session() as session:
        return session.scalar(select(Job.state).where(Job.id == job_id))


def test_an_invitation_succeeds_with_smtp_down_and_goes_out_when_it_returns(
        committed_db, settings):
    port = free_port()
    runtime = Runtime.build(replace(settings, email_transport="smtp",
                                    smtp_url=f"smtp://127.0.0.1:{port}"), db=committed_db)
    with committed_db.session() as session:
        *_, minted = auth_service.bootstrap(session, email="o@acme.test", workspace_name="W")
    with TestClient(create_app(runtime=runtime)) as client:
        invited = client.post("/v1/members", headers={"Authorization": f"Bearer {minted.raw}"},
                              json={"email": "new@example.com", "role": "member"})
        assert invited.status_code == 201, invited.text
        assert drain_outbox(runtime) == 1  # nobody listens on the relay's port
        with committed_db.session() as session:
            message = session.scalars(select(Message).where(Message.kind == "system")).one()
            assert message.state == "queued" and message.reason
            session.execute(update(Message).values(next_attempt_at=utcnow()))
        server = SmtpServer()
        server.port = port
        server.controller.port = port
        server.start()
        try:
            assert drain_outbox(runtime) == 1
        finally:
            server.stop()
        (received,) = server.messages
        assert received.rcpt_tos == ["new@example.com"]
        text = received.data.decode()
        assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
        body = email.message_from_bytes(received.data, policy=policy.default)
        plain = body.get_body(("plain",)).get_content()
        token = re.search(r"invitations/accept\?token=(\S+)", plain)
        assert token, text
        accepted = client.post("/v1/invitations/accept", json={"token": token.group(1)})
        assert accepted.status_code == 201, accepted.text
    with committed_db.session() as session:
        stored = " ".join(str(m.data) for m in session.scalars(select(Message)))
        assert token.group(1) not in stored  # the outbox keeps the token sealed
