"""Exports in the dashboard: the contacts page's Export action (its filters
as the export's), the recent exports with their signed links, the hourly
limit as a message, roles, other workspaces and CSRF."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import func, select

from letter.audience import service as audience
from letter.audience import topics
from letter.contacts import counts
from letter.contacts.models import Contact
from letter.imports.models import ExportJob
from letter.projects.models import Project
from letter.segments import browse
from tests.imports.support import run_jobs
from tests.web.dash import Browser, browser, new_project

PEOPLE = (b"id,email,plan\n"
          b"u1,ada@example.com,pro\n"
          b"u2,bob@example.com,free\n"
          b"u3,cy@example.com,pro\n")
LINK = re.compile(r'href="http://letter.test(/v1/downloads/[^"]+)" download')


def _seed(b: Browser, slug: str, db) -> dict[str, str]:
    """Three contacts (imported through the wizard's route), a list with
    u1 and a topic u2 chose."""
    fields = {"column.0": "id", "map.0": "external_id", "column.1": "email", "map.1": "email",
              "column.2": "plan", "map.2": "trait", "trait.2": "plan", "has_header": "true"}
    done = b.post(f"/p/{slug}/imports", fields, files={"file": ("p.csv", PEOPLE, "text/csv")})
    assert done.status_code == 200, done.text
    run_jobs(b.client)
    with db.session() as session:
        project = session.scalar(select(Project).where(Project.slug == slug))
        vip = audience.create_list(session, project.id, "VIP", None)
        audience.add_members(session, project.id, vip.id, external_ids=["u1"])
        news = topics.create_topic(session, project.id, name="News", description=None,
                                   default="opt_out")
        contact = _contact(session, project.id, "u2")
        topics.set_choice(session, project.id, contact, news.id, True)
        return {"list": str(vip.id), "topic": str(news.id)}


def _contact(session, project_id, external_id):
    return session.scalar(select(Contact).where(Contact.project_id == project_id,
                                                Contact.external_id == external_id))


def _export(b: Browser, slug: str, **filters: str) -> list[dict[str, str]]:
    done = b.post(f"/p/{slug}/exports", filters)
    assert done.status_code == 200, done.text
    url = done.headers["hx-redirect"]
    assert re.match(rf"^/p/{slug}/exports/[0-9a-f-]{{36}}\?started=1$", url), url
    waiting = b.get(url).text
    assert "Preparing…" in waiting and 'hx-trigger="every 2s"' in waiting
    run_jobs(b.client)
    ready = b.get(url).text
    assert "every 2s" not in ready and "completed" in ready
    got = b.get(LINK.search(ready).group(1))
    assert got.status_code == 200
    return list(csv.DictReader(io.StringIO(got.text)))


def _count(db) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(ExportJob)) or 0)


def test_contacts_filters_by_list_and_topic(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    ids = _seed(b, slug, db)
    page = b.get(f"/p/{slug}/contacts").text
    assert 'id="f-list"' in page and ">VIP<" in page and "Subscribed to News" in page
    by_list = b.get(f"/p/{slug}/contacts?list={ids['list']}").text
    assert 'id="contacts-total">1<' in by_list and "ada@example.com" in by_list
    by_topic = b.get(f"/p/{slug}/contacts?topic={ids['topic']}").text
    assert 'id="contacts-total">1<' in by_topic and "bob@example.com" in by_topic
    both = b.get(f"/p/{slug}/contacts?list={ids['list']}&topic={ids['topic']}").text
    assert 'id="contacts-total">0<' in both
    pager = b.get(f"/p/{slug}/contacts?list={ids['list']}").text
    assert f"list={ids['list']}" in pager.split('class="pager"')[1]
    gone = b.get(f"/p/{slug}/contacts?list=00000000-0000-0000-0000-000000000000")
    assert gone.status_code == 400 and "list: No list" in gone.text
    assert b.get(f"/p/{slug}/contacts?topic=nope").status_code == 404


def test_a_list_past_the_count_bound_shows_exactly_its_members(make_client, db, monkeypatch):
    """Past the bound, the page probes membership contact by contact instead of
    an IN over the members; the rows must be the same."""
    b = browser(make_client, db)
    slug = new_project(b)
    ids = _seed(b, slug, db)
    monkeypatch.setattr(counts, "BOUND", 0)
    monkeypatch.setattr(browse, "BOUND", 0)
    by_list = b.get(f"/p/{slug}/contacts?list={ids['list']}").text
    assert 'id="contacts-total">0+<' in by_list and "ada@example.com" in by_list
    assert "bob@example.com" not in by_list and "cy@example.com" not in by_list


def test_export_what_the_filters_show(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    ids = _seed(b, slug, db)
    assert "No export yet" in b.get(f"/p/{slug}/exports").text
    everyone = _export(b, slug)
    assert sorted(r["email"] for r in everyone) == [
        "ada@example.com", "bob@example.com", "cy@example.com"]
    listed = _export(b, slug, list=ids["list"], q="ada")
    assert [r["email"] for r in listed] == ["ada@example.com"]
    subscribed = _export(b, slug, topic=ids["topic"])
    assert [(r["email"], r["topics"]) for r in subscribed] == [("bob@example.com", "News")]
    recent = b.get(f"/p/{slug}/exports").text
    assert recent.count("Download CSV") == 3
    assert "list VIP, email contains “ada”" in recent and "subscribed to News" in recent
    assert "all contacts" in recent


def test_bad_filters_and_the_hourly_limit_are_messages(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    bad = b.post(f"/p/{slug}/exports", {"status": "gone"})
    assert bad.status_code == 400 and 'role="alert"' in bad.text and "status:" in bad.text
    assert "<html" not in bad.text
    missing = b.post(f"/p/{slug}/exports", {"segment": "00000000-0000-0000-0000-000000000000"})
    assert missing.status_code == 400 and "segment_id: no segment" in missing.text
    for _ in range(20):
        assert b.post(f"/p/{slug}/exports", {}).status_code == 200
    over = b.post(f"/p/{slug}/exports", {})
    assert over.status_code == 429 and int(over.headers["retry-after"]) > 0
    assert "At most 20 exports per user per hour" in over.text
    plain = b.post(f"/p/{slug}/exports", {}, htmx=False)
    assert plain.status_code == 429 and "<html" in plain.text
    assert "At most 20 exports per user per hour" in plain.text
    assert _count(db) == 20


def test_a_member_exports_too_and_other_workspaces_get_404(make_client, db):
    owner = browser(make_client, db)
    slug = new_project(owner)
    member = browser(make_client, db, "member", owner.who)
    done = member.post(f"/p/{slug}/exports", {})
    assert done.status_code == 200
    url = done.headers["hx-redirect"].split("?")[0]
    assert member.get(url).status_code == 200
    stranger = browser(make_client, db)
    new_project(stranger, "Acme")  # the same slug, in another workspace
    assert stranger.get(url).status_code == 404
    assert stranger.get(f"/p/{slug}/exports/not-an-id").status_code == 404
    assert "Preparing" not in stranger.get(f"/p/{slug}/exports").text


def test_a_forged_csrf_token_is_refused(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    assert b.post(f"/p/{slug}/exports", {}, csrf="0" * 64).status_code == 403
    assert b.post(f"/p/{slug}/exports", {}, csrf="", htmx=False).status_code == 403
    assert _count(db) == 0
