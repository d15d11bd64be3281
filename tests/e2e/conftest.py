"""A real ``letter serve`` on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    base_url: str
    env: dict[str, str]
    data_dir: Path
    process: subprocess.Popen[bytes]

    def letter(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a ``letter`` command against this server's data and database."""
        return subprocess.run(
            [sys.executable, "-m", "letter.cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def bootstrap(
        self, email: str = "owner@example.com", workspace: str = "Acme"
    ) -> dict[str, str]:
        done = self.letter(
            "admin", "bootstrap", "--email", email, "--workspace", workspace, "--json"
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, str] = json.loads(done.stdout)
        return result


def start_server(
    data_dir: Path, database_url: str, extra_env: dict[str, str | None] | None = None, *args: str
) -> LiveServer:
    """``extra_env`` adds variables; a ``None`` value removes one."""
    port = free_port()
    merged: dict[str, str | None] = {
        **os.environ,
        "LETTER_DATA_DIR": str(data_dir),
        "LETTER_DATABASE_URL": database_url,
        "LETTER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **(extra_env or {}),
    }
    env = {k: v for k, v in merged.items() if v is not None}
    process = subprocess.Popen(
        [sys.executable, "-m", "letter.cli.main", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    # Generous: on a loaded two-core machine start-up (imports, migrations) is slow.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"letter serve exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return LiveServer(base_url, env, data_dir, process)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("letter serve did not become healthy in 90 s")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def live_server(tmp_path: Path, fresh_database_url: str) -> Iterator[LiveServer]:
    server = start_server(tmp_path / "data", fresh_database_url)
    try:
        yield server
    finally:
        stop_server(server)


def wait_for_files(folder: Path, pattern: str, count: int, timeout: float = 15.0) -> list[Path]:
    """The files matching ``pattern`` once there are ``count`` of them (the
    server's worker writes them in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        found = sorted(folder.glob(pattern)) if folder.exists() else []
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, f"{len(found)} files in {folder}, wanted {count}"
            return found
        time.sleep(0.05)
