"""The sign-in page: one answer for every wrong credential, lockout, CSRF,
and a cookie that is HttpOnly, and Secure over https."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from letter.auth import service as auth_service
from letter.auth.models import WebSession
from letter.auth.security import hash_secret
from tests.web.support import csrf_of, sign_in

PASSWORD = "correct horse battery"


def _user(db, email="ada@example.com"):
    with db.session() as session:
        auth_service.bootstrap(session, email=email, workspace_name="Acme", password=PASSWORD)
    return email


def test_sign_in_opens_a_hashed_session_and_redirects(client, db):
    email = _user(db)
    done = sign_in(client, email, PASSWORD, "/device?user_code=BCDF-GHJK")
    assert done.status_code == 303
    assert done.headers["location"] == "/device?user_code=BCDF-GHJK"
    cookie = done.headers["set-cookie"]
    assert "letter_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie
    raw = client.cookies["letter_session"]
    with db.session() as session:
        rows = session.scalars(select(WebSession)).all()
        signed = [r for r in rows if r.user_id is not None]
        assert [r.token_hash for r in signed] == [hash_secret(raw)]
    assert client.get("/device").status_code == 200


def test_cookie_is_secure_over_https(client, db):
    email = _user(db)
    https = TestClient(client.app, base_url="https://testserver")
    done = sign_in(https, email, PASSWORD)
    assert done.status_code == 303
    assert "Secure" in done.headers["set-cookie"]


def test_wrong_password_and_unknown_email_get_the_same_answer(client, db):
    email = _user(db)
    wrong = sign_in(client, email, "not the password")
    unknown = sign_in(client, "nobody@example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.text
    assert "Wrong email or password." in unknown.text
    assert client.get("/device", follow_redirects=False).status_code == 303


def test_repeated_failures_lock_the_email_out_even_for_the_right_password(client, db):
    email = _user(db)
    for _ in range(5):
        assert sign_in(client, email, "guess").status_code == 401
    locked = sign_in(client, email, PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    assert int(locked.headers["retry-after"]) > 0
    assert client.get("/device", follow_redirects=False).status_code == 303


def test_forged_missing_and_foreign_csrf_tokens_are_refused(client, db, make_client):
    email = _user(db)
    page = client.get("/sign-in")
    form = {"email": email, "password": PASSWORD, "next": ""}
    forged = client.post("/sign-in", data={**form, "csrf_token": "0" * 64})
    assert forged.status_code == 403 and "reload the page" in forged.text
    assert client.post("/sign-in", data=form).status_code == 403
    # A token issued to another browser's session does not work in this one.
    other = make_client()
    foreign = csrf_of(other.get("/sign-in").text)
    assert client.post("/sign-in", data={**form, "csrf_token": foreign}).status_code == 403
    assert client.get("/device", follow_redirects=False).status_code == 303
    assert page.status_code == 200


def test_a_replayed_sign_in_form_is_refused(client, db):
    email = _user(db)
    page = client.get("/sign-in")
    anonymous = client.cookies["letter_session"]
    form = {"email": email, "password": PASSWORD, "next": "", "csrf_token": csrf_of(page.text)}
    first = client.post("/sign-in", data=form, follow_redirects=False)
    assert first.status_code == 303
    # The attacker replays the exact request: the old session it was bound to is gone.
    replay = TestClient(client.app)
    replay.cookies.set("letter_session", anonymous)
    again = replay.post("/sign-in", data=form, follow_redirects=False)
    assert again.status_code == 403


def test_next_never_leaves_the_site(client, db):
    email = _user(db)
    done = sign_in(client, email, PASSWORD, "//evil.example/x")
    assert done.status_code == 303 and done.headers["location"] == "/"


def test_device_page_sends_strangers_to_sign_in(client):
    response = client.get("/device?user_code=BCDF-GHJK", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fdevice%3Fuser_code%3DBCDF-GHJK"


def test_worker_prunes_expired_sessions_and_old_device_logins(client, db, settings):
    from datetime import timedelta

    from letter.auth.models import DeviceAuthorization
    from letter.clock import utcnow
    from letter.runtime import Runtime
    from letter.worker.loop import Worker
    from letter.worker.registry import default_registry

    client.get("/sign-in")
    client.post("/v1/device/code", json={})
    client.post("/v1/device/code", json={})
    with db.session() as session:
        first, second = session.scalars(select(DeviceAuthorization)).all()
        first.expires_at = utcnow() - timedelta(days=2)
        second.expires_at = utcnow() - timedelta(minutes=1)  # recent: the CLI may still ask
        live = session.scalars(select(WebSession)).one()
        live_id = live.id
        session.add(WebSession(token_hash="0" * 64, csrf_secret="x",
                               expires_at=utcnow() - timedelta(seconds=1)))
    assert "auth.prune-sign-ins" in default_registry().kinds()
    worker = Worker(Runtime.build(settings, db=db), queues=["default"])
    assert worker.schedule_periodic() >= 1
    while worker.run_queue_once("default"):
        pass
    with db.session() as session:
        assert [r.id for r in session.scalars(select(WebSession))] == [live_id]
        assert [r.id for r in session.scalars(select(DeviceAuthorization))] == [second.id]
