"""Project settings, project tokens, team and API keys in the dashboard."""

from __future__ import annotations

import re

from sqlalchemy import select

from letter.auth.models import Invitation, PersonalAccessToken
from letter.projects.models import Project, ProjectKey
from tests.web.dash import browser, new_project

SECRET = re.compile(r'id="minted-token">([^<]+)<')


def _project(db, slug="acme"):
    with db.session() as session:
        return session.scalars(select(Project).where(Project.slug == slug)).one()


def test_settings_save_and_bad_values_change_nothing(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    ok = b.post(f"/p/{slug}/settings", {"name": "Acme", "timezone": "Asia/Tokyo"})
    assert ok.headers["hx-redirect"] == "/p/acme/settings?saved=1"
    assert "Saved." in b.get(ok.headers["hx-redirect"]).text
    bad = b.post(f"/p/{slug}/settings", {"name": "Acme", "timezone": "Nowhere"})
    assert bad.status_code == 400 and 'id="e-timezone"' in bad.text
    cap = b.post(f"/p/{slug}/settings/daily-cap", {"daily_send_cap": "0"})
    assert cap.status_code == 400
    assert "daily_send_cap: must be between 1 and 10,000,000" in cap.text
    nan = b.post(f"/p/{slug}/settings/daily-cap", {"daily_send_cap": "lots"})
    assert nan.status_code == 400 and 'id="e-daily_send_cap"' in nan.text
    assert b.post(f"/p/{slug}/settings/daily-cap", {"daily_send_cap": "500"}).status_code == 200
    sender = b.post(f"/p/{slug}/settings/sender", {"from_email": "not an email"})
    assert sender.status_code == 400 and 'id="e-from_email"' in sender.text
    good = b.post(f"/p/{slug}/settings/sender",
                  {"from_email": "hello@acme.test", "from_name": "Acme team"})
    assert good.status_code == 200, good.text
    mode = b.post(f"/p/{slug}/settings/sending-mode", {"sending_mode": "byo_domain"})
    assert mode.status_code == 400 and "not a verified sending domain" in mode.text
    project = _project(db)
    assert (project.timezone, project.daily_send_cap, project.from_name,
            project.sending_mode) == ("Asia/Tokyo", 500, "Acme team", "letter_subdomain")


def test_the_cap_api_and_the_page_share_one_rule(client, owner, project):
    url = f"/v1/projects/{project['slug']}/daily-send-cap"
    bad = client.put(url, json={"daily_send_cap": 0}, headers=owner.headers)
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "daily_send_cap: must be between 1 and 10,000,000"
    assert client.put(url, json={"daily_send_cap": 7}, headers=owner.headers).json()[
        "daily_send_cap"] == 7


def test_project_tokens_are_shown_once_and_revocable(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    assert "No token yet" in b.get(f"/p/{slug}/tokens").text
    minted = b.post(f"/p/{slug}/tokens", {"name": "backend"})
    assert minted.status_code == 201
    raw = SECRET.search(minted.text).group(1)
    assert raw.startswith("lt_live_")
    listing = b.get(f"/p/{slug}/tokens").text
    assert "backend" in listing and raw not in listing
    ingest = b.client.post("/v1/identify", json={"user_id": "u1", "email": "u1@example.com"},
                           headers={"Authorization": f"Bearer {raw}"})
    assert ingest.status_code == 200, ingest.text
    with db.session() as session:
        key = session.scalars(select(ProjectKey)).one()
    assert b.post(f"/p/{slug}/tokens/{key.id}/revoke").status_code == 200
    assert b.post(f"/p/{slug}/tokens/not-a-uuid/revoke").status_code == 404
    again = b.client.post("/v1/identify", json={"user_id": "u1"},
                          headers={"Authorization": f"Bearer {raw}"})
    assert again.status_code == 401


def test_members_see_no_admin_screens_and_their_posts_are_refused(make_client, db):
    admin = browser(make_client, db, "admin")
    slug = new_project(admin)
    member = browser(make_client, db, "member", workspace=admin.who)
    nav = member.get(f"/p/{slug}").text
    assert f"/p/{slug}/tokens" not in nav and "/team" not in nav
    settings = member.get(f"/p/{slug}/settings").text
    assert "Save sender" not in settings and "Delete project" not in settings
    assert member.get(f"/p/{slug}/tokens").status_code == 403
    assert member.get("/team").status_code == 403
    assert member.post(f"/p/{slug}/tokens", {"name": "x"}).status_code == 403
    assert member.post(f"/p/{slug}/settings/daily-cap", {"daily_send_cap": "3"}).status_code == 403
    assert member.post(f"/p/{slug}/delete").status_code == 403
    assert member.post("/team/invitations", {"email": "x@example.com"}).status_code == 403
    # What a member may do, they do.
    assert member.post(f"/p/{slug}/settings", {"name": "Acme", "timezone": "UTC"}
                       ).status_code == 200
    with db.session() as session:
        assert session.scalars(select(ProjectKey)).all() == []
        assert session.scalars(select(Invitation)).all() == []
    assert _project(db).daily_send_cap == 10_000


def test_team_invites_revokes_and_removes(make_client, db):
    admin = browser(make_client, db)
    member = browser(make_client, db, "member", workspace=admin.who)
    bad = admin.post("/team/invitations", {"email": "nope", "role": "member"})
    assert bad.status_code == 400 and 'id="e-email"' in bad.text
    assert admin.post("/team/invitations", {"email": "new@example.com", "role": "boss"}
                      ).status_code == 400
    ok = admin.post("/team/invitations", {"email": "new@example.com", "role": "admin"})
    assert ok.headers["hx-redirect"] == "/team?invited=1"
    again = admin.post("/team/invitations", {"email": "new@example.com", "role": "admin"})
    assert again.status_code == 409 and "already been invited" in again.text
    page = admin.get("/team").text
    assert "new@example.com" in page and member.who.email in page
    with db.session() as session:
        inv = session.scalars(select(Invitation)).one()
    assert admin.post(f"/team/invitations/{inv.id}/revoke").status_code == 200
    assert admin.post(f"/team/members/{member.who.user_id}/remove").status_code == 200
    assert member.get("/", follow_redirects=False).status_code == 403


def test_api_keys_are_personal_and_shown_once(make_client, db, client):
    b = browser(make_client, db, "member")
    bad = b.post("/api-keys", {"name": "cli", "expires_at": "yesterday"})
    assert bad.status_code == 400 and 'id="e-expires_at"' in bad.text
    minted = b.post("/api-keys", {"name": "cli"})
    raw = SECRET.search(minted.text).group(1)
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.json()["user"]["email"] == b.who.email
    with db.session() as session:
        token = session.scalars(select(PersonalAccessToken).where(
            PersonalAccessToken.name == "cli")).one()
    assert b.post(f"/api-keys/{token.id}/revoke").status_code == 200
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_deleting_a_project(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    assert b.post(f"/p/{slug}/delete").headers["hx-redirect"] == "/"
    assert b.get(f"/p/{slug}").status_code == 404
