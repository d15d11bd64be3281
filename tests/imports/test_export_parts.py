"""An export written in keyset ranges, by the worker and a child process at
once: the same file as one pass, whatever the ranges and their trait
columns; the child's protocol; and reads that take no write lock."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from letter.auth import service as auth_service
from letter.clock import utcnow
from letter.contacts.models import Contact
from letter.db.engine import Database
from letter.ids import uuid7
from letter.imports import exportparts
from letter.imports.exporting import write_export
from letter.imports.exportparts import Part, Parts, _shared_url, _start_child, _Task
from letter.imports.frames import read_frame, write_frame
from letter.projects import service as projects

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# Trait keys that come and go along the keyset order, so that ranges meet
# them in different orders and each range's columns differ from the export's.
TRAITS: list[dict[str, Any]] = [
    {"plan": "pro"}, {"plan": "free", "seats": 3}, {}, {"zeta": "=1+1"},
    {"company": {"name": "Acme", "size": 9}}, {"plan": "pro", "alpha": True},
    {"seats": 1}, {"zeta": "z", "company": {"name": "Globex"}}, {"beta": [1, 2]},
    {"alpha": False, "plan": "team"}, {"omega": "last"}, {"plan": "-5"}, {"seats": 7},
]


@pytest.fixture
def project_id(committed_db: Database) -> uuid.UUID:
    with committed_db.session() as session:
        _, ws, _ = auth_service.bootstrap(session, email="x@acme.test", workspace_name="X")
        project = projects.create_project(session, ws.id, "Acme", "UTC")
        # Pairs created at the same instant, ordered by id: ranges end between them too.
        ids = sorted(uuid7() for _ in TRAITS)
        for i, traits in enumerate(TRAITS):
            session.add(Contact(id=ids[i], project_id=project.id, external_id=f"u{i}",
                                email=f"u{i}@example.com", email_key=f"u{i}@example.com",
                                traits=traits, created_at=T0 + timedelta(seconds=i // 2),
                                updated_at=T0))
        return project.id


def exported(db: Database, project_id: uuid.UUID, target: Path, **how: Any) -> str:
    assert write_export(db, project_id, {}, target, **how) == len(TRAITS)
    return target.read_text(encoding="utf-8")


# The columns of one pass: each page's new keys, sorted, after the earlier ones.
HEADERS = {
    1: ["plan", "seats", "zeta", "company.name", "company.size", "alpha", "beta", "omega"],
    2: ["plan", "seats", "zeta", "alpha", "company.name", "company.size", "beta", "omega"],
}


@pytest.mark.parametrize(("page", "span"), [(1, 1), (1, 3), (2, 2), (2, 4)])
def test_ranges_give_the_file_of_one_pass(committed_db, project_id, tmp_path, monkeypatch,
                                          page, span):
    # Ranges start on page boundaries of the one pass (SPAN is a multiple of PAGE).
    monkeypatch.setattr(exportparts, "PAGE", page)
    one_pass = exported(committed_db, project_id, tmp_path / "one.csv", processes=1)
    in_ranges = exported(committed_db, project_id, tmp_path / "ranges.csv", processes=1,
                         span=span)
    both = exported(committed_db, project_id, tmp_path / "both.csv", processes=2, span=span)
    assert in_ranges == one_pass
    assert both == one_pass
    rows = list(csv.reader(io.StringIO(one_pass, newline="")))
    assert rows[0][5:-3] == HEADERS[page]
    assert [r[1] for r in rows[1:]] == [f"u{i}" for i in range(len(TRAITS))]
    assert all(len(r) == len(rows[0]) for r in rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["both.csv", "one.csv", "ranges.csv"]


def test_ranges_across_pages_move_every_cell_to_its_column(committed_db, project_id, tmp_path,
                                                           monkeypatch):
    monkeypatch.setattr(exportparts, "PAGE", 2)
    one_pass = exported(committed_db, project_id, tmp_path / "one.csv", processes=1)
    odd = exported(committed_db, project_id, tmp_path / "odd.csv", processes=2, span=3)
    as_dicts = [list(csv.DictReader(io.StringIO(t, newline=""))) for t in (one_pass, odd)]
    assert as_dicts[0] == as_dicts[1]
    assert as_dicts[0][4]["zeta"] == "" and as_dicts[0][3]["zeta"] == "'=1+1"
    assert as_dicts[0][7]["company.name"] == "Globex"


def test_a_child_writes_when_there_are_more_than_two_ranges(committed_db, project_id, tmp_path):
    now = utcnow()
    with Parts.start(committed_db, project_id, {}, now, tmp_path / "a", span=5,
                     processes=2) as parts:
        assert parts._child is not None
        assert sum(p.count for p in parts.run()) == len(TRAITS)
    for few in ({"span": 7, "processes": 2}, {"span": 2, "processes": 1}):
        with Parts.start(committed_db, project_id, {}, now, tmp_path / "b", **few) as parts:
            assert parts._child is None
            assert sum(p.count for p in parts.run()) == len(TRAITS)


def test_the_child_writes_a_range_and_reports_a_deleted_segment(committed_db, project_id,
                                                                tmp_path):
    url = _shared_url(committed_db)
    assert url is not None
    child = _start_child(url)
    assert child.stdin is not None and child.stdout is not None
    try:
        now = utcnow()
        write_frame(child.stdin, _Task(project_id, {}, now, None, None, tmp_path / "all"))
        part = read_frame(child.stdout)
        assert isinstance(part, Part) and part.count == len(TRAITS)
        assert part.pid == child.pid
        assert len((tmp_path / "all").read_text().splitlines()) == len(TRAITS)
        gone = {"segment_id": str(uuid.uuid4())}
        write_frame(child.stdin, _Task(project_id, gone, now, None, None, tmp_path / "gone"))
        failure = read_frame(child.stdout)
        assert isinstance(failure, LookupError) and "deleted" in str(failure)
        child.stdin.close()  # as when the worker dies: the pipe closes
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()


def test_a_deleted_segment_fails_the_export_in_either_writer(committed_db, project_id,
                                                              tmp_path):
    params = {"segment_id": str(uuid.uuid4())}
    for processes in (1, 2):
        with pytest.raises(LookupError):
            write_export(committed_db, project_id, params, tmp_path / "x.csv",
                         processes=processes, span=2)
    assert list(tmp_path.iterdir()) == []


def test_reading_takes_no_write_lock_on_sqlite(committed_db, project_id):
    if committed_db.dialect != "sqlite":
        pytest.skip("PostgreSQL readers never take a write lock")
    held, release = threading.Event(), threading.Event()

    def writer() -> None:
        with committed_db.session() as session:  # BEGIN IMMEDIATE: the write lock
            session.execute(text("UPDATE contacts SET updated_at = updated_at"))
            held.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert held.wait(30)
        started = time.monotonic()
        with committed_db.reading() as session:
            count = session.scalar(text("SELECT count(*) FROM contacts"))
        assert count == len(TRAITS)
        assert time.monotonic() - started < 2  # a write lock would wait for the writer
    finally:
        release.set()
        thread.join()


def test_only_a_database_another_process_can_open_gets_a_child(committed_db, db):
    assert exportparts._shared_url(Database.from_url("sqlite://")) is None
    assert exportparts._shared_url(db) is None  # its sessions share one open transaction
    shared = exportparts._shared_url(committed_db)
    assert shared is not None and Database.from_url(shared).dialect == committed_db.dialect


HOLDER = """
import sys, time, uuid
from datetime import datetime
from letter.db.engine import Database
from letter.imports.exportparts import Parts
db = Database.from_url(sys.argv[1])
parts = Parts.start(db, uuid.UUID(sys.argv[2]), {}, datetime.fromisoformat(sys.argv[3]),
                    __import__("pathlib").Path(sys.argv[4]), span=2, processes=2)
print(parts._child.pid, flush=True)
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] == "Z"  # exited, not yet reaped
    except FileNotFoundError:
        return True


def test_a_killed_worker_takes_its_part_writer_with_it(committed_db, project_id, tmp_path):
    url = exportparts._shared_url(committed_db)
    assert url is not None
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, str(project_id), utcnow().isoformat(),
         str(tmp_path / "x")], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert holder.stdout is not None
        child = int(holder.stdout.readline())
        assert not _gone(child)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        deadline = time.monotonic() + 30
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(child)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
