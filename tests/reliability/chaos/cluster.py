"""The deployment under test: a private PostgreSQL cluster (``initdb`` in a
temporary directory, on a free port, so restarting it disturbs nobody),
Redis, two ``letter serve --no-worker`` API processes and two ``letter
worker`` processes, each of which can be SIGKILLed and started again."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from tests.e2e.conftest import LiveServer, free_port, stop_server

REDIS_URL = os.environ.get("LETTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    return found[-1].parent


class PrivatePostgres:
    """A throwaway cluster owned by the ``postgres`` user when run as root
    (``initdb`` refuses root), listening on 127.0.0.1 and a socket in its dir."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="letter-chaos-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, timeout=timeout, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)

    def start(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=200 -c fsync=off -c full_page_writes=off")
        self._pg_ctl("start", "-o", options)
        return self

    def _pg_ctl(self, action: str, *extra: str) -> None:
        self._run("pg_ctl", action, "-D", str(self.data), "-w", "-t", "60",
                  "-l", str(self.root / "log"), *extra)

    def restart(self) -> None:
        """A fast shutdown (every connection cut, the in-flight transactions
        rolled back) and a start: what an operator's restart does."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Deployment:
    """Letter's processes on one database; ``api_urls`` is read by the load's
    clients, so a restarted API process (on a new port) takes traffic at once."""

    database_url: str
    data_dir: Path
    env: dict[str, str]
    apis: list[LiveServer] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    api_urls: list[str] = field(default_factory=list)

    def _log(self, name: str) -> IO[bytes]:
        # A file, not a pipe: a pipe nobody reads blocks a chatty process.
        return open(self.data_dir / f"{name}.log", "ab")

    def start_api(self) -> LiveServer:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {**os.environ, **self.env, "LETTER_DATABASE_URL": self.database_url,
               "LETTER_DATA_DIR": str(self.data_dir), "LETTER_PUBLIC_URL": base_url}
        with self._log(f"api-{port}") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "letter.cli.main", "serve", "--no-worker", "--port",
                 str(port)], env=env, stdout=subprocess.DEVNULL, stderr=log)
        server = LiveServer(base_url, env, self.data_dir, process)
        wait_healthy([base_url], 60)
        self.apis.append(server)
        self.api_urls.append(base_url)
        return server

    def start_worker(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, **self.env, "LETTER_DATABASE_URL": self.database_url,
               "LETTER_DATA_DIR": str(self.data_dir)}
        with self._log(f"worker-{len(self.workers)}-{time.monotonic():.0f}") as log:
            worker = subprocess.Popen([sys.executable, "-m", "letter.cli.main", "worker"],
                                      env=env, stdout=subprocess.DEVNULL, stderr=log)
        self.workers.append(worker)
        return worker

    def kill_api(self, index: int = 0) -> None:
        """SIGKILL an API process: its connections drop mid-request."""
        server = self.apis.pop(index)
        self.api_urls.remove(server.base_url)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)

    def kill_worker(self, index: int = 0) -> None:
        """SIGKILL a worker: its claimed jobs and outbox batch wait for their lease."""
        worker = self.workers.pop(index)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)

    def bootstrap_token(self) -> str:
        token: str = self.apis[0].bootstrap()["token"]
        return token

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        for server in self.apis:
            stop_server(server)


def wait_healthy(urls: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for url in urls:
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} is not healthy")
            time.sleep(0.2)
