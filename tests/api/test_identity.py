"""/v1/me and /v1/tokens: identity, minting, listing, revocation, expiry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from letter.auth.models import PersonalAccessToken
from letter.db.engine import Database
from tests.conftest import assert_error


def test_me_returns_user_workspace_and_role(client, owner):
    body = client.get("/v1/me", headers=owner.headers).json()
    assert body["user"]["email"] == owner.email
    assert body["user"]["id"] == str(owner.user_id)
    assert body["workspace"]["id"] == str(owner.workspace_id)
    assert body["role"] == "owner"


def test_missing_malformed_and_unknown_tokens_are_401(client):
    assert_error(client.get("/v1/me"), 401, "unauthorized")
    assert_error(
        client.get("/v1/me", headers={"Authorization": "Bearer nope"}), 401, "unauthorized"
    )
    assert_error(client.get("/v1/me", headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    unknown = "lt_pat_" + "a" * 48
    assert_error(
        client.get("/v1/me", headers={"Authorization": f"Bearer {unknown}"}), 401, "unauthorized"
    )


def test_mint_list_and_revoke_token(client, owner):
    created = client.post("/v1/tokens", json={"name": "ci"}, headers=owner.headers)
    assert created.status_code == 201
    body = created.json()
    assert re.fullmatch(r"lt_pat_[0-9a-f]{48}", body["token"])
    assert body["prefix"] == body["token"][:15]
    assert body["name"] == "ci"
    new_headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/v1/me", headers=new_headers).status_code == 200

    listed = client.get("/v1/tokens", headers=owner.headers).json()["data"]
    by_id = {t["id"]: t for t in listed}
    assert body["id"] in by_id
    assert "token" not in by_id[body["id"]]
    assert set(by_id[body["id"]]) == {
        "id",
        "name",
        "prefix",
        "last_used_at",
        "expires_at",
        "created_at",
    }
    assert by_id[body["id"]]["last_used_at"] is not None

    assert client.delete(f"/v1/tokens/{body['id']}", headers=owner.headers).status_code == 204
    assert_error(client.get("/v1/me", headers=new_headers), 401, "unauthorized")
    ids = [t["id"] for t in client.get("/v1/tokens", headers=owner.headers).json()["data"]]
    assert body["id"] not in ids
    assert_error(client.delete(f"/v1/tokens/{body['id']}", headers=owner.headers), 404, "not_found")


def test_token_secret_is_stored_hashed(client, owner, db: Database):
    raw = client.post("/v1/tokens", json={"name": "x"}, headers=owner.headers).json()["token"]
    with db.session() as session:
        stored = [t.token_hash for t in session.query(PersonalAccessToken)]
    assert raw not in stored
    assert all(len(h) == 64 for h in stored)


def test_expired_token_is_401(client, owner, db: Database):
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = client.post(
        "/v1/tokens", json={"name": "short", "expires_at": soon}, headers=owner.headers
    ).json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/v1/me", headers=headers).status_code == 200
    with db.session() as session:
        session.execute(
            update(PersonalAccessToken)
            .where(PersonalAccessToken.prefix == body["prefix"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    error = assert_error(client.get("/v1/me", headers=headers), 401, "unauthorized")
    assert "expired" in error["error"]["message"]


def test_token_in_the_past_or_bad_body_is_400_and_creates_nothing(client, owner):
    before = len(client.get("/v1/tokens", headers=owner.headers).json()["data"])
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert_error(
        client.post("/v1/tokens", json={"name": "x", "expires_at": past}, headers=owner.headers),
        400,
        "bad_request",
    )
    err = assert_error(
        client.post("/v1/tokens", json={"name": "x", "scopes": []}, headers=owner.headers),
        400,
        "bad_request",
    )
    assert "scopes" in err["error"]["message"]
    assert_error(client.post("/v1/tokens", json={}, headers=owner.headers), 400, "bad_request")
    after = len(client.get("/v1/tokens", headers=owner.headers).json()["data"])
    assert before == after


def test_cannot_revoke_another_users_token(client, owner, make_account):
    other = make_account(role="admin", workspace=owner)
    mine = client.get("/v1/tokens", headers=owner.headers).json()["data"][0]["id"]
    assert_error(client.delete(f"/v1/tokens/{mine}", headers=other.headers), 404, "not_found")
    stranger = make_account()
    assert_error(client.delete(f"/v1/tokens/{mine}", headers=stranger.headers), 404, "not_found")
    assert client.get("/v1/me", headers=owner.headers).status_code == 200
