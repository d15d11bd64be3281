"""The dashboard's front door: sign-in redirect, projects, workspaces, CSRF,
roles and another workspace's URLs."""

from __future__ import annotations

from sqlalchemy import select

from letter.projects.models import Project
from tests.web.dash import browser, new_project, person


def _projects(db):
    with db.session() as session:
        return [p.name for p in session.scalars(select(Project))]


def test_signed_out_visitors_go_to_sign_in(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2F"
    fragment = client.get("/p/acme", headers={"HX-Request": "true"},
                          follow_redirects=False)
    assert fragment.headers["hx-redirect"].startswith("/sign-in?next=")


def test_htmx_is_vendored_and_every_page_sends_the_csrf_header(client, make_client, db):
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200 and "htmx" in js.text[:200]
    assert client.get("/static/app.css").status_code == 200
    b = browser(make_client, db)
    page = b.get("/").text
    assert '<script src="/static/htmx.min.js"' in page and "//" not in page.split(
        'htmx.min.js"')[0].split("<script")[-1].replace("/static/", "")
    assert f'hx-headers=\'{{"X-CSRF-Token": "{b.csrf}"}}\'' in page


def test_empty_workspace_says_the_next_step_and_creates_a_project(make_client, db):
    b = browser(make_client, db)
    page = b.get("/")
    assert "No project yet" in page.text and "Create a project" in page.text
    slug = new_project(b)
    assert slug == "acme"
    overview = b.get(f"/p/{slug}")
    assert overview.status_code == 200
    assert "Next step: send Letter your contacts" in overview.text
    assert "/v1/identify" in overview.text and "project token" in overview.text


def test_bad_input_shows_the_api_message_by_the_field_and_changes_nothing(make_client, db):
    b = browser(make_client, db)
    bad = b.post("/projects", {"name": "Acme", "timezone": "Mars/Olympus"})
    assert bad.status_code == 400
    assert 'id="e-timezone"' in bad.text
    assert "timezone: &#34;Mars/Olympus&#34; is not an IANA time zone name" in bad.text
    assert 'value="Mars/Olympus"' in bad.text
    empty = b.post("/projects", {"name": "   "})
    assert empty.status_code == 400 and "name: must not be empty" in empty.text
    assert _projects(db) == []


def test_forged_or_missing_csrf_is_refused(make_client, db):
    b = browser(make_client, db)
    assert b.post("/projects", {"name": "Acme"}, csrf="0" * 64).status_code == 403
    assert b.post("/projects", {"name": "Acme"}, csrf="").status_code == 403
    plain = b.client.post("/projects", data={"name": "Acme"}, follow_redirects=False)
    assert plain.status_code == 403 and "reload the page" in plain.text
    assert _projects(db) == []
    # A plain form with the hidden field works too.
    ok = b.client.post("/projects", data={"name": "Acme", "csrf_token": b.csrf},
                       follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/p/acme"


def test_a_member_sees_no_admin_actions_and_posting_one_is_refused(make_client, db):
    admin = browser(make_client, db)
    new_project(admin)
    member = browser(make_client, db, "member", workspace=admin.who)
    page = member.get("/").text
    assert "Create a project" not in page and 'href="/team"' not in page
    assert "Acme" in page
    refused = member.post("/projects", {"name": "Sneaky"})
    assert refused.status_code == 403
    assert "needs the admin role" in refused.text
    assert _projects(db) == ["Acme"]


def test_another_workspaces_project_is_404(make_client, db):
    ours = browser(make_client, db)
    theirs = browser(make_client, db)
    new_project(theirs, "Theirs")
    assert ours.get("/p/theirs").status_code == 404
    assert ours.get("/go?project=theirs", follow_redirects=False).headers["location"] == "/"


def test_workspace_is_chosen_by_cookie(make_client, db):
    b = browser(make_client, db)
    new_project(b, "Home")
    other = person(db)
    # The same person joins a second workspace as a member.
    from letter.auth.models import Membership
    with db.session() as session:
        session.add(Membership(workspace_id=other.workspace_id, user_id=b.who.user_id,
                               role="member"))
    page = b.get("/").text
    assert 'id="workspace-switch"' in page and "Home" in page
    switched = b.post("/workspace", {"workspace_id": str(other.workspace_id)})
    assert switched.headers["hx-redirect"] == "/"
    page = b.get("/").text
    assert "Home" not in page and "Ask an admin" in page
    assert b.get("/p/home").status_code == 404
    # A workspace the user is not in is ignored.
    b.client.cookies.set("letter_workspace", str(person(db).workspace_id))
    assert "Home" in b.get("/").text


def test_sign_out_ends_the_session(make_client, db):
    b = browser(make_client, db)
    out = b.post("/sign-out")
    assert out.headers["hx-redirect"] == "/sign-in"
    assert b.get("/", follow_redirects=False).status_code == 303
