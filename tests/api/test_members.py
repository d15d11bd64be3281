"""Members and invitations: roles, emailed accept links, duplicates, isolation."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from letter.auth.models import Invitation
from letter.worker.outbox import drain_outbox
from tests.conftest import assert_error


def _accept_link(client, outbox: Path, to: str) -> str:
    """The accept link of the invitation to ``to``, once the outbox drain sent it."""
    drain_outbox(client.app.state.runtime)
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] == to:
            text = message.get_payload(0).get_payload(decode=True).decode()
            match = re.search(r"(http://letter\.test/invitations/accept\?token=\S+)", text)
            assert match, text
            return match.group(1)
    raise AssertionError(f"no invitation email to {to}")


def _token_of(link: str) -> str:
    return link.split("token=", 1)[1]


def test_invite_emails_a_link_and_accept_creates_membership(client, owner, data_dir):
    created = client.post("/v1/members", json={"email": "New@Example.com"}, headers=owner.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"invitation_id", "email", "role", "status"}
    assert body["email"] == "new@example.com"
    assert body["role"] == "member" and body["status"] == "pending"

    pending = client.get("/v1/invitations", headers=owner.headers).json()["data"]
    assert [i["id"] for i in pending] == [body["invitation_id"]]
    assert set(pending[0]) == {"id", "email", "role", "status", "expires_at", "created_at"}

    link = _accept_link(client, data_dir / "outbox", "new@example.com")
    accepted = client.post(
        "/v1/invitations/accept",
        json={"token": _token_of(link), "name": "Newbie", "password": "correct horse"},
    )
    assert accepted.status_code == 201, accepted.text
    out = accepted.json()
    assert out["role"] == "member"
    assert out["user"]["email"] == "new@example.com" and out["user"]["name"] == "Newbie"
    assert out["workspace"]["id"] == str(owner.workspace_id)
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {out['token']}"}).json()
    assert me["role"] == "member"

    members = client.get("/v1/members", headers=owner.headers).json()["data"]
    assert {m["email"] for m in members} == {owner.email, "new@example.com"}
    assert set(members[0]) == {"user_id", "email", "name", "role", "joined_at"}
    assert client.get("/v1/invitations", headers=owner.headers).json()["data"] == []

    again = client.post("/v1/invitations/accept", json={"token": _token_of(link)})
    assert_error(again, 404, "not_found")


def test_invitations_endpoint_returns_invitation_shape(client, owner):
    response = client.post(
        "/v1/invitations", json={"email": "a@example.com", "role": "admin"}, headers=owner.headers
    )
    assert response.status_code == 201
    assert set(response.json()) == {"id", "email", "role", "status"}
    assert response.json()["role"] == "admin"


def test_duplicate_invite_or_member_is_409(client, owner, make_account):
    colleague = make_account(role="member", workspace=owner)
    assert (
        client.post(
            "/v1/members", json={"email": "x@example.com"}, headers=owner.headers
        ).status_code
        == 201
    )
    assert_error(
        client.post("/v1/invitations", json={"email": "x@example.com"}, headers=owner.headers),
        409,
        "conflict",
    )
    assert_error(
        client.post("/v1/members", json={"email": colleague.email}, headers=owner.headers),
        409,
        "conflict",
    )
    assert len(client.get("/v1/invitations", headers=owner.headers).json()["data"]) == 1


def test_invalid_invites_are_400_and_create_nothing(client, owner):
    for body in (
        {"email": "not-an-email"},
        {"email": "a@example.com", "role": "owner"},
        {"email": "a@example.com", "extra": 1},
        {},
    ):
        assert_error(
            client.post("/v1/members", json=body, headers=owner.headers), 400, "bad_request"
        )
    assert client.get("/v1/invitations", headers=owner.headers).json()["data"] == []


def test_revoked_and_expired_invitations_cannot_be_accepted(client, owner, data_dir, db):
    first = client.post(
        "/v1/invitations", json={"email": "r@example.com"}, headers=owner.headers
    ).json()
    link = _accept_link(client, data_dir / "outbox", "r@example.com")
    assert client.delete(f"/v1/invitations/{first['id']}", headers=owner.headers).status_code == 204
    assert_error(
        client.post("/v1/invitations/accept", json={"token": _token_of(link)}), 404, "not_found"
    )
    assert_error(
        client.delete(f"/v1/invitations/{first['id']}", headers=owner.headers), 404, "not_found"
    )

    client.post("/v1/invitations", json={"email": "e@example.com"}, headers=owner.headers)
    link = _accept_link(client, data_dir / "outbox", "e@example.com")
    with db.session() as session:
        session.execute(
            update(Invitation)
            .where(Invitation.email == "e@example.com")
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    error = assert_error(
        client.post("/v1/invitations/accept", json={"token": _token_of(link)}), 404, "not_found"
    )
    assert "expired" in error["error"]["message"]
    assert_error(client.post("/v1/invitations/accept", json={"token": "garbage"}), 404, "not_found")


def test_members_and_invitations_need_admin(client, owner, make_account):
    member = make_account(role="member", workspace=owner)
    for method, path, body in (
        ("GET", "/v1/members", None),
        ("POST", "/v1/members", {"email": "z@example.com"}),
        ("DELETE", f"/v1/members/{owner.user_id}", None),
        ("GET", "/v1/invitations", None),
        ("POST", "/v1/invitations", {"email": "z@example.com"}),
    ):
        assert_error(
            client.request(method, path, json=body, headers=member.headers), 403, "forbidden"
        )
    admin = make_account(role="admin", workspace=owner)
    assert client.get("/v1/members", headers=admin.headers).status_code == 200


def test_remove_member_rules(client, owner, make_account):
    member = make_account(role="member", workspace=owner)
    admin = make_account(role="admin", workspace=owner)
    assert_error(
        client.delete(f"/v1/members/{owner.user_id}", headers=admin.headers), 403, "forbidden"
    )
    assert_error(
        client.delete(f"/v1/members/{owner.user_id}", headers=owner.headers), 409, "conflict"
    )
    assert client.delete(f"/v1/members/{member.user_id}", headers=admin.headers).status_code == 204
    # The removed member's token stops working at once.
    assert_error(client.get("/v1/me", headers=member.headers), 401, "unauthorized")
    assert_error(
        client.delete(f"/v1/members/{member.user_id}", headers=admin.headers), 404, "not_found"
    )


def test_other_workspaces_members_and_invitations_are_404(client, owner, make_account):
    stranger = make_account()
    invite = client.post(
        "/v1/invitations", json={"email": "q@example.com"}, headers=owner.headers
    ).json()
    assert_error(
        client.delete(f"/v1/invitations/{invite['id']}", headers=stranger.headers), 404, "not_found"
    )
    assert_error(
        client.delete(f"/v1/members/{owner.user_id}", headers=stranger.headers), 404, "not_found"
    )
    assert [
        m["email"] for m in client.get("/v1/members", headers=stranger.headers).json()["data"]
    ] == [stranger.email]
    assert client.get("/v1/invitations", headers=stranger.headers).json()["data"] == []
