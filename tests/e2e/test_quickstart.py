"""The README's quick start, over real HTTP against a real ``letter serve``."""

from __future__ import annotations

import email
import re

import httpx

from tests.e2e.conftest import LiveServer, wait_for_files


def test_quickstart_bootstrap_project_key(live_server: LiveServer) -> None:
    boot = live_server.bootstrap()
    auth = {"Authorization": f"Bearer {boot['token']}"}
    with httpx.Client(base_url=live_server.base_url, headers=auth, timeout=10) as http:
        me = http.get("/v1/me")
        assert me.status_code == 200 and me.json()["role"] == "owner"
        assert me.headers["X-RateLimit-Limit"] == "1200"

        project = http.post("/v1/projects", json={"name": "Acme", "timezone": "Europe/Paris"})
        assert project.status_code == 201, project.text
        assert project.json()["slug"] == "acme"

        key = http.post("/v1/projects/acme/keys", json={"name": "Production server"})
        assert key.status_code == 201
        assert re.fullmatch(r"lt_live_[0-9a-f]{48}", key.json()["key"])
        keys = http.get("/v1/projects/acme/keys").json()["data"]
        assert [k["name"] for k in keys] == ["Production server"]

        missing = http.get("/v1/projects/nope")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        assert http.get("/v1/openapi.json").json()["openapi"].startswith("3.1")
    assert httpx.get(f"{live_server.base_url}/v1/me").status_code == 401


def test_invitation_round_trip_through_the_file_outbox(live_server: LiveServer) -> None:
    boot = live_server.bootstrap()
    auth = {"Authorization": f"Bearer {boot['token']}"}
    with httpx.Client(base_url=live_server.base_url, timeout=10) as http:
        invited = http.post(
            "/v1/members", json={"email": "new@example.com", "role": "admin"}, headers=auth
        )
        assert invited.status_code == 201, invited.text
        # The worker thread of `letter serve` sends it from the outbox.
        (eml,) = wait_for_files(live_server.data_dir / "outbox", "*.eml", count=1)
        message = email.message_from_bytes(eml.read_bytes())
        assert message["To"] == "new@example.com"
        body = message.get_payload(0).get_payload(decode=True).decode()
        link = re.search(r"(http://127\.0\.0\.1:\d+/invitations/accept\?token=\S+)", body)
        assert link, body
        token = link.group(1).split("token=")[1]
        accepted = http.post("/v1/invitations/accept", json={"token": token})
        assert accepted.status_code == 201, accepted.text
        new_auth = {"Authorization": f"Bearer {accepted.json()['token']}"}
        assert http.get("/v1/me", headers=new_auth).json()["role"] == "admin"
