"""RFC 8628 device flow: codes, polling rules, approval, denial, expiry, single use."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from letter.auth import service as auth_service
from letter.auth.device import USER_CODE_ALPHABET
from letter.auth.models import DeviceAuthorization, Membership, Workspace
from letter.auth.security import hash_secret
from letter.clock import utcnow
from tests.conftest import assert_error
from tests.web.support import approve, csrf_of, sign_in

PASSWORD = "correct horse battery"


def _user(db, email="ada@example.com", workspace="Acme"):
    with db.session() as session:
        auth_service.bootstrap(session, email=email, workspace_name=workspace, password=PASSWORD)
    return email


def _start(client, name="letter CLI on laptop"):
    response = client.post("/v1/device/code", json={"client_name": name})
    assert response.status_code == 200, response.text
    return response.json()


def _poll(client, code):
    return client.post("/v1/device/token", json={"device_code": code})


def _forget_last_poll(client, device_code):
    """Lets the next poll count as on time without sleeping the interval."""
    client.app.state.runtime.limiter.storage.clear(f"letter/once/device/{hash_secret(device_code)}")


def test_code_response_has_the_rfc_fields(client, db):
    body = _start(client)
    assert set(body) == {
        "device_code", "user_code", "verification_uri", "verification_uri_complete",
        "expires_in", "interval",
    }
    letters = f"[{USER_CODE_ALPHABET}]{{4}}"
    assert re.fullmatch(f"{letters}-{letters}", body["user_code"])
    assert body["verification_uri"] == "http://letter.test/device"
    complete = f"http://letter.test/device?user_code={body['user_code']}"
    assert body["verification_uri_complete"] == complete
    assert (body["expires_in"], body["interval"]) == (900, 5)
    with db.session() as session:
        row = session.scalars(select(DeviceAuthorization)).one()
        assert row.device_code_hash == hash_secret(body["device_code"])
        assert body["device_code"] not in (row.device_code_hash, row.user_code)
        assert row.requested_ip == "testclient" and row.client_name == "letter CLI on laptop"


def test_full_flow_approve_then_token_once(client, db):
    email = _user(db)
    body = _start(client)
    assert_error(_poll(client, body["device_code"]), 400, "authorization_pending")
    assert_error(_poll(client, body["device_code"]), 400, "slow_down")

    assert sign_in(client, email, PASSWORD).status_code == 303
    page = client.get("/device", params={"user_code": body["user_code"].lower().replace("-", "")})
    assert "letter CLI on laptop" in page.text and "testclient" in page.text
    assert body["user_code"] in page.text
    done = approve(client, body["user_code"])
    assert done.status_code == 200 and "Login approved" in done.text

    _forget_last_poll(client, body["device_code"])
    token = _poll(client, body["device_code"])
    assert token.status_code == 200, token.text
    raw = token.json()["token"]
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {raw}"}).json()
    assert me["user"]["email"] == email and me["role"] == "owner"
    assert token.json()["name"] == "letter CLI on laptop"

    _forget_last_poll(client, body["device_code"])
    assert_error(_poll(client, body["device_code"]), 400, "expired_token")


def test_denied_login_gets_access_denied(client, db):
    email = _user(db)
    body = _start(client)
    sign_in(client, email, PASSWORD)
    done = approve(client, body["user_code"], action="deny")
    assert done.status_code == 200 and "Login denied" in done.text
    assert_error(_poll(client, body["device_code"]), 400, "access_denied")


def test_expired_code_cannot_be_approved_or_polled(client, db):
    email = _user(db)
    body = _start(client)
    with db.session() as session:
        session.execute(
            update(DeviceAuthorization).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    sign_in(client, email, PASSWORD)
    page = client.get("/device", params={"user_code": body["user_code"]})
    assert page.status_code == 404 and "expired" in page.text
    assert_error(_poll(client, body["device_code"]), 400, "expired_token")


def test_unknown_device_code_and_bad_bodies_are_400(client):
    assert_error(_poll(client, "nope"), 400, "bad_request")
    assert_error(client.post("/v1/device/token", json={}), 400, "bad_request")
    assert_error(client.post("/v1/device/code", json={"client_name": ""}), 400, "bad_request")
    assert_error(client.post("/v1/device/code", content=b"{"), 400, "bad_request")


def test_approval_csrf_is_single_use_and_bound_to_the_session(client, db, make_client):
    email = _user(db)
    body = _start(client)
    sign_in(client, email, PASSWORD)
    page = client.get("/device", params={"user_code": body["user_code"]})
    form = {"user_code": body["user_code"], "action": "approve", "csrf_token": csrf_of(page.text)}
    forged = client.post("/device", data={**form, "csrf_token": "f" * 64})
    assert forged.status_code == 403
    with db.session() as session:
        assert session.scalars(select(DeviceAuthorization.status)).one() == "pending"
    # A token for another code does not approve this one.
    other = _start(client)
    other_page = client.get("/device", params={"user_code": other["user_code"]})
    crossed = {**form, "csrf_token": csrf_of(other_page.text)}
    assert client.post("/device", data=crossed).status_code == 403
    assert client.post("/device", data=form).status_code == 200
    # The same form posted again is refused: its token was spent.
    assert client.post("/device", data={**form, "user_code": other["user_code"]}).status_code == 403
    stranger = make_client()
    assert stranger.post("/device", data=form, follow_redirects=False).status_code == 303


def test_user_with_two_workspaces_picks_one_they_belong_to(client, db):
    email = _user(db)
    _user(db, email, workspace="Beta")
    _user(db, "eve@example.com", workspace="Eve")
    with db.session() as session:
        ids = {w.name: w.id for w in session.scalars(select(Workspace))}
        assert session.scalars(select(Membership)).all()
    body = _start(client)
    sign_in(client, email, PASSWORD)
    page = client.get("/device", params={"user_code": body["user_code"]})
    assert "Acme" in page.text and "Beta" in page.text and "Eve" not in page.text
    form = {"user_code": body["user_code"], "action": "approve", "csrf_token": csrf_of(page.text)}
    refused = client.post("/device", data={**form, "workspace_id": str(ids["Eve"])})
    assert refused.status_code == 403
    page = client.get("/device", params={"user_code": body["user_code"]})
    form["csrf_token"] = csrf_of(page.text)
    chosen = client.post("/device", data={**form, "workspace_id": str(ids["Beta"])})
    assert chosen.status_code == 200
    token = _poll(client, body["device_code"]).json()["token"]
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["workspace"]["name"] == "Beta"


def test_starting_logins_is_rate_limited_per_address(client):
    for _ in range(20):
        assert client.post("/v1/device/code", json={}).status_code == 200
    limited = client.post("/v1/device/code", json={})
    body = assert_error_with_retry(limited)
    assert body["error"]["retryAfter"] >= 1


def assert_error_with_retry(response):
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["error"]["code"] == "rate_limited"
    return body
