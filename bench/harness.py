"""The server side of the benchmarks: a real ``letter serve`` on a free
loopback port (SQLite in a temporary data dir, or a private PostgreSQL
database created for the run and dropped after), with an owner token, a
project and its ingestion key; the server's memory and CPU time.

>>> with bench_server("sqlite", pg_url, workers=1) as srv:     # doctest: +SKIP
...     api(srv.port, "GET", "/v1/projects", srv.token)
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MB."""
    total = 0
    pids = [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
        pids += [int(p) for p in out.stdout.split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children so far: a
    server's cost per item, which the machine's other load disturbs far
    less than the wall-clock rate."""
    pids = [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
        pids += [int(p) for p in out.stdout.split()]
    except OSError:
        pass
    ticks = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def api(port: int, method: str, path: str, token: str, body: Any = None) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request(
        method, path, body=orjson.dumps(body) if body is not None else None, headers=headers
    )
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {data[:300]!r}")
    return orjson.loads(data)


@contextmanager
def server(env: dict[str, str], workers: int) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "letter.cli.main",
        "serve",
        "--port",
        str(port),
        "--no-worker",
        "--workers",
        str(workers),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise SystemExit(f"server did not start:\n{err}")
            time.sleep(0.2)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def bootstrap(env: dict[str, str]) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "letter.cli.main",
            "admin",
            "bootstrap",
            "--email",
            "bench@example.com",
            "--workspace",
            "Bench",
            "--json",
        ],
        env=env,
        capture_output=True,
        check=True,
    )
    token: str = orjson.loads(out.stdout)["token"]
    return token


def create_pg_database(base: str) -> tuple[str, Callable[[], None]]:
    import psycopg

    name = f"letter_bench_{uuid.uuid4().hex[:10]}"
    admin_url = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    head, _, _ = admin_url.rpartition("/")
    url = f"{head}/{name}"

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


@dataclass
class BenchServer:
    """A running ``letter serve`` with an owner token, a project and its key."""

    port: int
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    data_dir: Path
    token: str
    slug: str
    key: str


@contextmanager
def bench_server(db: str, pg_url: str, workers: int) -> Iterator[BenchServer]:
    """A server on a new SQLite file, or on a private PostgreSQL database
    dropped afterwards, with rate limits out of the way."""
    with tempfile.TemporaryDirectory(prefix="letter-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        env = {
            **os.environ,
            "LETTER_DATA_DIR": str(data_dir),
            "LETTER_INGEST_RATE_LIMIT": "100000000/minute",
            "LETTER_RATE_LIMIT": "100000000/minute",
        }
        env.pop("LETTER_DATABASE_URL", None)
        drop: Callable[[], None] = lambda: None  # noqa: E731
        if db == "postgresql":
            url, drop = create_pg_database(pg_url)
            env["LETTER_DATABASE_URL"] = url
        try:
            token = bootstrap(env)
            with server(env, workers) as (port, proc):
                slug = api(port, "POST", "/v1/projects", token, {"name": "Bench"})["slug"]
                key = api(port, "POST", f"/v1/projects/{slug}/keys", token, {})["key"]
                yield BenchServer(port, proc, env, data_dir, token, slug, key)
        finally:
            drop()


@contextmanager
def recorded(pid: int, path: str | None) -> Iterator[None]:
    """Collapsed stacks of a process and its children while the block runs,
    into ``path`` (py-spy, the thread holding the GIL only); nothing when
    ``path`` is None."""
    if path is None:
        yield
        return
    spy = subprocess.Popen(
        [
            shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"),
            "record",
            "-p",
            str(pid),
            "--subprocesses",
            "--gil",
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            path,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    try:
        yield
    finally:
        spy.send_signal(2)
        spy.wait(timeout=60)
