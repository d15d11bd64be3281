"""Real ``letter worker`` processes: one is SIGKILLed in the middle of an
import, another resumes it from the saved offset, and the final counts are
exactly those of an uninterrupted run — no row applied twice, none lost."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from letter.auth import service as auth_service
from letter.contacts.models import Contact
from letter.db.engine import Database
from letter.db.migrate import upgrade
from letter.imports import service as imports
from letter.imports.models import ImportJob, ImportRowError
from letter.projects import service as projects
from tests.conftest import BACKENDS, new_database

ROOT = Path(__file__).resolve().parents[2]
ROWS = 30_000
CHUNK = 250


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with new_database(request.param, tmp_path) as url:
        upgrade(url)
        yield url


def start_worker(url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "LETTER_DATABASE_URL": url,
           "LETTER_DATA_DIR": str(data_dir), "LETTER_SECRET_KEY": "k",
           "LETTER_JOB_LEASE_SECONDS": "2", "LETTER_IMPORT_CHUNK_ROWS": str(CHUNK)}
    return subprocess.Popen([sys.executable, "-m", "letter.cli.main", "worker",
                             "--queues", "imports"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def the_file() -> tuple[bytes, set[int], dict[str, int]]:
    """ROWS rows: every 97th a bad email, every 10th repeats an earlier id;
    with the line numbers of the bad rows and the counts a clean run gives."""
    lines = ["id,email,plan"]
    bad: set[int] = set()
    seen: set[str] = set()
    counts = {"created": 0, "updated": 0}
    for i in range(ROWS):
        if i % 97 == 5:
            lines.append(f"u{i},broken-{i},free")
            bad.add(i + 2)
            continue
        ident = f"u{i - 9}" if i % 10 == 9 else f"u{i}"
        email = f"again{i}@example.com" if i % 10 == 9 else f"user{i}@example.com"
        lines.append(f"{ident},{email},free")
        counts["updated" if ident in seen else "created"] += 1
        seen.add(ident)
    return ("\n".join(lines) + "\n").encode(), bad, counts


def progress(db: Database, import_id: uuid.UUID) -> tuple[str, int]:
    with db.session() as session:
        job = session.get(ImportJob, import_id)
        assert job is not None
        return job.status, job.processed


def test_a_killed_import_resumes_to_exact_counts(database_url: str, tmp_path: Path) -> None:
    db = Database.from_url(database_url)
    data_dir = tmp_path / "data"
    content, bad, expected = the_file()
    with db.session() as session:
        user, ws, _ = auth_service.bootstrap(session, email="o@acme.test", workspace_name="W")
        project = projects.create_project(session, ws.id, "Acme", "UTC")
        job = imports.create_import(
            session, project.id, user.id, imports.Upload(io.BytesIO(content), "big.csv"),
            mapping='{"id": "external_id", "email": "email", "plan": "traits.plan"}',
            uploads_dir=data_dir / "uploads")
        import_id, project_id = job.id, project.id
    first = start_worker(database_url, data_dir)
    second = None
    try:
        wait_until(lambda: progress(db, import_id)[1] >= 4 * CHUNK, 120)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        status, at_kill = progress(db, import_id)
        assert status == "running" and at_kill < ROWS, "finished before the kill: grow ROWS"
        second = start_worker(database_url, data_dir)
        wait_until(lambda: progress(db, import_id)[0] == "completed", 180)
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(20)
    with db.session() as session:
        job = session.get(ImportJob, import_id)
        assert job is not None
        contacts = session.scalar(select(func.count()).select_from(Contact).where(
            Contact.project_id == project_id))
        lines = set(session.scalars(select(ImportRowError.line).where(
            ImportRowError.import_id == import_id)))
        updated_emails = session.scalar(select(func.count()).select_from(Contact).where(
            Contact.email.like("again%")))
    print(f"\nkilled at {at_kill} of {ROWS} rows processed")
    assert (job.total, job.processed, job.failed) == (ROWS, ROWS, len(bad))
    assert (job.created, job.updated, job.skipped) == (expected["created"],
                                                      expected["updated"], 0)
    assert contacts == job.created
    assert lines == bad
    assert updated_emails == sum(1 for i in range(ROWS) if i % 10 == 9 and i % 97 != 5)
    assert not (data_dir / "uploads" / "imports" / f"{import_id}.csv").exists()
    db.engine.dispose()
