"""Real worker processes: two share the jobs without overlap, and a SIGKILLed
worker's job is run again after its lease and completes once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from letter.db.engine import Database
from letter.db.migrate import upgrade
from letter.jobs import Job, JobState, enqueue
from tests.conftest import BACKENDS, new_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with new_database(request.param, tmp_path) as url:
        upgrade(url)
        yield url


def start_worker(url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "LETTER_DATABASE_URL": url,
           "LETTER_DATA_DIR": str(tmp_path / "data"), "LETTER_SECRET_KEY": "k",
           "LETTER_JOB_LEASE_SECONDS": "2"}
    return subprocess.Popen([sys.executable, "-m", "tests.worker.procworker"], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def states(db: Database) -> Counter[str]:
    with db.session() as session:
        return Counter(session.scalars(select(Job.state).where(Job.kind.like("test.%"))))


def test_two_workers_claim_disjoint_jobs(database_url: str, tmp_path: Path) -> None:
    db = Database.from_url(database_url)
    log = tmp_path / "ran.log"
    with db.session() as session:
        ids = {str(enqueue(session, "test.record", {"log": str(log), "sleep": 0.01}))
               for _ in range(150)}
    workers = [start_worker(database_url, tmp_path) for _ in range(2)]
    try:
        wait_until(lambda: states(db)[JobState.SUCCEEDED] == 150, 90)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            worker.wait(20)
        db.engine.dispose()
    runs = [line.split() for line in log.read_text().splitlines()]
    assert Counter(job for job, _ in runs) == Counter({job: 1 for job in ids})
    by_process = Counter(pid for _, pid in runs)
    assert len(by_process) == 2, by_process  # both took a share


def test_a_killed_workers_job_runs_again_after_its_lease_and_completes_once(
        database_url: str, tmp_path: Path) -> None:
    db = Database.from_url(database_url)
    started = tmp_path / "started"
    with db.session() as session:
        job_id = enqueue(session, "test.slow-once", {"started": str(started)})
    first = start_worker(database_url, tmp_path)
    try:
        wait_until(started.exists, 30)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        with db.session() as session:
            job = session.get(Job, job_id)
            assert job.state == JobState.RUNNING and job.attempts == 1
        second = start_worker(database_url, tmp_path)
        try:
            wait_until(lambda: states(db)[JobState.SUCCEEDED] == 1, 60)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
        with db.session() as session:
            job = session.get(Job, job_id)
            assert job.attempts == 2 and job.lease_owner is None
            done = session.scalars(select(Job).where(Job.kind == "test.done")).all()
            assert [d.payload["of"] for d in done] == [str(job_id)]
    finally:
        if first.poll() is None:
            first.kill()
        db.engine.dispose()
