"""``letter db backup`` while a real server takes writes, then ``letter db
restore`` into a fresh data dir that serves the same data."""

from __future__ import annotations

import base64
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.e2e.conftest import LiveServer, start_server, stop_server


def _letter(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "letter.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def _identify(server: LiveServer, key: str, first: int, count: int) -> None:
    basic = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    batch = [{"type": "identify", "userId": f"u{i}", "messageId": f"m{i}",
              "traits": {"email": f"u{i}@example.com", "n": i}}
             for i in range(first, first + count)]
    done = httpx.post(f"{server.base_url}/v1/batch", json={"batch": batch}, headers=basic,
                      timeout=30)
    assert done.status_code == 200 and done.json()["accepted"] == count, done.text


def test_backup_while_serving_restores_into_a_fresh_data_dir(tmp_path: Path) -> None:
    first_dir = tmp_path / "first"
    server = start_server(first_dir, f"sqlite:///{first_dir / 'letter.db'}")
    archive = tmp_path / "backups" / "letter.tar"
    try:
        token = server.bootstrap()["token"]
        pat = {"Authorization": f"Bearer {token}"}
        slug = httpx.post(f"{server.base_url}/v1/projects", json={"name": "Shop"},
                          headers=pat).json()["slug"]
        key = httpx.post(f"{server.base_url}/v1/projects/{slug}/keys", json={},
                         headers=pat).json()["key"]
        _identify(server, key, 0, 300)
        stop_writing = threading.Event()

        def keep_writing() -> None:
            start = 1000
            while not stop_writing.is_set():
                _identify(server, key, start, 50)
                start += 50

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            done = _letter(server.env, "db", "backup", str(archive))
        finally:
            stop_writing.set()
            writer.join()
        assert done.returncode == 0, done.stderr
        secret_before = _letter(server.env, "admin", "webhook-secret").stdout
    finally:
        stop_server(server)

    second_dir = tmp_path / "second"
    env = {**server.env, "LETTER_DATA_DIR": str(second_dir),
           "LETTER_DATABASE_URL": f"sqlite:///{second_dir / 'letter.db'}"}
    restored = _letter(env, "db", "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    snapshot = sqlite3.connect(second_dir / "letter.db")
    assert snapshot.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    taken = snapshot.execute("select count(*) from contacts").fetchone()[0]
    # One snapshot: every whole batch or none of it, never part of one.
    assert taken >= 300 and (taken - 300) % 50 == 0
    snapshot.close()
    assert _letter(env, "admin", "webhook-secret").stdout == secret_before

    again = start_server(second_dir, env["LETTER_DATABASE_URL"], {
        k: v for k, v in env.items() if k.startswith("LETTER_") and k != "LETTER_PUBLIC_URL"})
    try:
        contact = httpx.get(f"{again.base_url}/v1/projects/{slug}/contacts/u299",
                            headers=pat).json()
        assert contact["email"] == "u299@example.com" and contact["traits"]["n"] == 299
        _identify(again, key, 5000, 10)  # the restored instance takes writes with the old key
    finally:
        stop_server(again)


def test_restore_refuses_to_overwrite_bad_files_and_postgresql(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"PATH": "/usr/bin:/bin", "LETTER_DATA_DIR": str(data),
           "LETTER_DATABASE_URL": f"sqlite:///{data / 'letter.db'}"}
    assert _letter(env, "db", "upgrade").returncode == 0
    archive = tmp_path / "b.tar"
    assert _letter(env, "db", "backup", str(archive)).returncode == 0

    over = _letter(env, "db", "restore", str(archive))
    assert over.returncode == 1 and "--force" in over.stderr
    assert _letter(env, "db", "restore", "--force", str(archive)).returncode == 0

    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"\x00not a tar" * 100)
    bad = _letter(env, "db", "restore", "--force", str(garbage))
    assert bad.returncode == 1 and "not a Letter backup" in bad.stderr

    pg = {**env, "LETTER_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"}
    refused = _letter(pg, "db", "backup", str(tmp_path / "pg.tar"))
    assert refused.returncode == 1 and "pg_dump" in refused.stderr
    assert not (tmp_path / "pg.tar").exists()
