"""What a new user sees on a first run: links that follow the served port,
a quiet start-up, an invitation that reads well, and a guarded /metrics."""

from __future__ import annotations

import email
import re
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import start_server, stop_server, wait_for_files


def _invite(base_url: str, token: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1/members",
        json={"email": "teammate@acme.test", "role": "admin"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_links_follow_the_served_port_and_start_up_is_quiet(
    tmp_path: Path, fresh_database_url: str
) -> None:
    server = start_server(tmp_path / "data", fresh_database_url, {"LETTER_PUBLIC_URL": None})
    try:
        boot = server.bootstrap(email="you@acme.com")
        assert _invite(server.base_url, boot["token"]).status_code == 201
        wait_for_files(tmp_path / "data" / "outbox", "*.eml", count=1)  # sent by the worker
        metrics = httpx.get(f"{server.base_url}/metrics", timeout=10)
        assert metrics.status_code == 200 and "letter_http_requests" in metrics.text
    finally:
        stop_server(server)
    assert server.process.stderr is not None
    stderr = server.process.stderr.read().decode()
    assert "alembic.runtime.plugins" not in stderr and "setup plugin" not in stderr
    (eml,) = (tmp_path / "data" / "outbox").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes())
    assert message["Subject"] == "you@acme.com invited you to Acme on Letter"
    text = message.get_payload(0).get_payload(decode=True).decode()
    assert "you invited you" not in text
    assert text.startswith("you@acme.com invited you to join the workspace Acme as admin.")
    (link,) = re.findall(r"http://\S+/invitations/accept\?token=\S+", text)
    assert link.startswith(server.base_url + "/"), (link, server.base_url)


def test_a_metrics_token_is_required_once_set(tmp_path: Path, fresh_database_url: str) -> None:
    server = start_server(
        tmp_path / "data", fresh_database_url, {"LETTER_METRICS_TOKEN": "scrape-me"}
    )
    try:
        url = f"{server.base_url}/metrics"
        assert httpx.get(url, timeout=10).status_code == 401
        wrong = httpx.get(url, headers={"Authorization": "Bearer nope"}, timeout=10)
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
        right = httpx.get(url, headers={"Authorization": "Bearer scrape-me"}, timeout=10)
        assert right.status_code == 200 and "letter_http_requests" in right.text
    finally:
        stop_server(server)


def _non_loopback_address() -> str | None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_metrics_stay_on_loopback_without_a_token(tmp_path: Path, fresh_database_url: str) -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    server = start_server(tmp_path / "data", fresh_database_url, None, "--host", "0.0.0.0")
    try:
        port = server.base_url.rsplit(":", 1)[1]
        assert httpx.get(f"{server.base_url}/metrics", timeout=10).status_code == 200
        remote = httpx.get(f"http://{address}:{port}/metrics", timeout=10)
        assert remote.status_code == 404 and remote.json()["error"]["code"] == "not_found"
        assert httpx.get(f"http://{address}:{port}/healthz", timeout=10).status_code == 200
    finally:
        stop_server(server)
    assert server.process.stderr is not None
    stderr = server.process.stderr.read().decode()
    assert "LETTER_METRICS_TOKEN" in stderr and "loopback only" in stderr
