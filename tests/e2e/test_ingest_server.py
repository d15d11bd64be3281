"""A real ``letter serve --workers 2`` on loopback: Segment-style ingestion in,
the audience out through the Management API."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from letter.auth import service as auth_service
from letter.db.engine import Database
from letter.db.migrate import upgrade


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path):
    data_dir = tmp_path / "data"
    env = {**os.environ, "LETTER_DATA_DIR": str(data_dir)}
    env.pop("LETTER_DATABASE_URL", None)
    url = f"sqlite:///{data_dir / 'letter.db'}"
    upgrade(url)
    db = Database.from_url(url)
    with db.session() as session:
        minted = auth_service.bootstrap(session, email="e2e@example.com", workspace_name="E2E")[2]
        token = minted.raw
    db.engine.dispose()
    cli = [sys.executable, "-m", "letter.cli.main"]
    port = free_port()
    proc = subprocess.Popen([*cli, "serve", "--port", str(port), "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        yield base, {"Authorization": f"Bearer {token}"}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_segment_style_batch_through_a_multi_process_server(server):
    base, pat = server
    slug = httpx.post(f"{base}/v1/projects", json={"name": "Shop"}, headers=pat).json()["slug"]
    key = httpx.post(f"{base}/v1/projects/{slug}/keys", json={}, headers=pat).json()["key"]
    basic = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    batch = {"batch": [
        {"type": "track", "userId": "u1", "event": "Viewed", "messageId": "m1"},
        {"type": "identify", "userId": "u1", "traits": {"email": "u1@example.com"},
         "messageId": "m2"},
        {"type": "group", "userId": "u1", "groupId": "g1", "traits": {"name": "G"},
         "messageId": "m3"},
        {"type": "page", "userId": "u1"},
    ]}
    first = httpx.post(f"{base}/v1/batch", json=batch, headers=basic)
    assert first.status_code == 200
    assert first.json()["accepted"] == 3
    assert [r["index"] for r in first.json()["rejected"]] == [3]
    assert "x-ratelimit-limit" in first.headers
    # Whichever process answers, the receipts dedupe.
    for _ in range(4):
        again = httpx.post(f"{base}/v1/batch", json=batch, headers=basic).json()
        assert (again["accepted"], again["duplicates"]) == (0, 3)
    contact = httpx.get(f"{base}/v1/projects/{slug}/contacts/u1", headers=pat).json()
    assert contact["email"] == "u1@example.com"
    assert contact["account"]["external_id"] == "g1"
    assert [e["name"] for e in contact["recent_events"]] == ["Viewed"]
