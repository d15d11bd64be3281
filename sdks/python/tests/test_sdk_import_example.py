"""The import example: dry run, full run, checkpoints, resume after a failure or a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from letterapp_testing import KEY, RecordingServer, clean_env, ok

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
IMPORT = str(EXAMPLES / "import_users.py")
MAKE = str(EXAMPLES / "make_source.py")
ROWS = 45


@pytest.fixture(params=["users.csv", "users.db"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / request.param
    subprocess.run(
        [sys.executable, MAKE, "--rows", str(ROWS), str(path)], check=True, capture_output=True
    )
    return path


def ids(count: int, start: int = 1) -> List[str]:
    return ["usr_%06d" % n for n in range(start, start + count)]


def env(url: Optional[str]) -> Dict[str, str]:
    environment = clean_env()
    environment.pop("LETTER_API_KEY", None)
    environment.pop("LETTER_API_URL", None)
    if url is not None:
        environment["LETTER_API_KEY"] = KEY
        environment["LETTER_API_URL"] = url
    return environment


def run(source: Path, url: Optional[str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, IMPORT, "--source", str(source), "--page-size", "10", *extra],
        cwd=str(source.parent),
        env=env(url),
        capture_output=True,
        text=True,
        timeout=60,
    )


def identified(server: RecordingServer) -> List[str]:
    return [item["user_id"] for item in server.items if item["type"] == "identify"]


def checkpoint(source: Path) -> dict:
    return json.loads((source.parent / ".letter-import-checkpoint.json").read_text())


def test_dry_run_sends_nothing_and_writes_no_checkpoint(source: Path) -> None:
    proc = run(source, None, "--dry-run")  # no API key needed
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "would import usr_000001 user000001@example.com"
    assert sum(line.startswith("would import ") for line in lines) == ROWS
    assert not (source.parent / ".letter-import-checkpoint.json").exists()


def test_full_import(source: Path) -> None:
    with RecordingServer() as server:
        proc = run(source, server.url)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[:2] == ["imported 10", "imported 20"]
    assert out[-1] == "done. %d contacts processed." % ROWS
    assert identified(server) == ids(ROWS)
    for path, _headers, body in server.requests:
        assert path == "/v1/batch"
        assert json.loads(body)["skip_triggers"] is True
    for item in server.items:
        if item["type"] == "identify":
            assert item["message_id"] == "import:identify:%s" % item["user_id"]
            assert item["email"] == "user%s@example.com" % item["user_id"][4:]
            assert set(item["traits"]) == {"name", "plan", "signup_at"}
            assert item["timestamp"] == item["traits"]["signup_at"]
        else:
            assert item["type"] == "group"
            assert item["message_id"] == "import:group:%s:%s" % (
                item["user_id"],
                item["account_id"],
            )
    groups = [item for item in server.items if item["type"] == "group"]
    assert 0 < len(groups) < ROWS
    # identify comes before the group of the same user (so the link lands)
    order = [(item["type"], item["user_id"]) for item in server.items]
    for group in groups:
        assert order.index(("identify", group["user_id"])) < order.index(
            ("group", group["user_id"])
        )
    assert checkpoint(source)["cursor"] == "usr_%06d" % ROWS
    assert checkpoint(source)["processed"] == ROWS
    with RecordingServer() as server:  # a second run has nothing left to do
        again = run(source, server.url)
    assert again.returncode == 0 and server.requests == []
    assert "done. %d contacts processed." % ROWS in again.stdout


def test_failure_keeps_the_checkpoint_and_a_rerun_resumes(source: Path) -> None:
    calls = {"n": 0}

    def flaky(path, headers, body):
        calls["n"] += 1
        if calls["n"] > 2:
            return 503, {}, b'{"error": {"code": "internal_error", "message": "down"}}'
        return 200, {}, ok().body

    with RecordingServer(flaky) as server:
        proc = run(source, server.url, "--max-retries", "0")
    assert proc.returncode == 1
    assert "internal_error" in proc.stderr and "resume" in proc.stderr
    assert proc.stdout.splitlines() == ["imported 10", "imported 20"]
    assert checkpoint(source)["cursor"] == "usr_000020"

    with RecordingServer() as server:
        proc = run(source, server.url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "resuming after id usr_000020 (20 already imported)"
    assert identified(server) == ids(ROWS - 20, start=21)
    assert checkpoint(source)["cursor"] == "usr_%06d" % ROWS


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_mid_run_resumes_after_the_last_checkpoint(source: Path) -> None:
    third = threading.Event()
    release = threading.Event()

    def stall_third(path, headers, body):
        if len(server.requests) >= 3:
            third.set()
            release.wait(10)
        return 200, {}, ok().body

    with RecordingServer(stall_third) as server:
        proc = subprocess.Popen(
            [sys.executable, IMPORT, "--source", str(source), "--page-size", "10"],
            cwd=str(source.parent),
            env=env(server.url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert third.wait(30), "the third page never arrived"
            os.kill(proc.pid, signal.SIGKILL)  # crash while page 3 is in flight
            proc.wait(10)
        finally:
            release.set()
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert checkpoint(source)["cursor"] == "usr_000020"

    with RecordingServer() as server:
        rerun = run(source, server.url)
    assert rerun.returncode == 0, rerun.stderr
    assert identified(server) == ids(ROWS - 20, start=21)  # page 3 again, 1-2 not again


def test_rejected_items_are_listed_and_exit_3(source: Path) -> None:
    def reject_first(path, headers, body):
        return (
            200,
            {},
            ok(rejected=[{"index": 0, "code": "bad_request", "message": "bad email"}]).body,
        )

    with RecordingServer(reject_first) as server:
        proc = run(source, server.url)
    assert proc.returncode == 3
    assert "rejected import:identify:usr_000001" in proc.stderr
    assert "bad email" in proc.stderr
    assert checkpoint(source)["cursor"] == "usr_%06d" % ROWS  # rejections do not stop it
    assert len(server.requests) == 5


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = run(tmp_path / "nope.csv", "http://127.0.0.1:9")
    assert missing.returncode == 2 and "no such file" in missing.stderr
    src = tmp_path / "users.csv"
    subprocess.run([sys.executable, MAKE, "--rows", "3", str(src)], check=True, capture_output=True)
    no_key = run(src, None)
    assert no_key.returncode == 2 and "LETTER_API_KEY" in no_key.stderr
    unsorted = tmp_path / "unsorted.csv"
    lines = src.read_text().splitlines()
    unsorted.write_text("\n".join([lines[0], lines[2], lines[1]]) + "\n")
    with RecordingServer() as server:
        proc = run(unsorted, server.url)
    assert proc.returncode == 2 and "not sorted by id" in proc.stderr
