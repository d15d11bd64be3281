"""Imports in the dashboard: the list, the wizard (preview with suggestions,
mapping, options), the progress page with cancel and the error report, bad
input refused whole, roles, other workspaces and CSRF."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from letter.audience import service as audience
from letter.audience import topics
from letter.imports.models import ImportJob
from letter.projects.models import Project
from tests.imports.support import run_jobs
from tests.web.dash import Browser, browser, new_project

PEOPLE = (b"Email,First name,Plan,Status\n"
          b"ada@example.com,Ada,pro,subscribed\n"
          b"grace@example.com,Grace,free,unsubscribed\n"
          b"not-an-address,Bad,free,subscribed\n")
REDIRECT = re.compile(r"^/p/[a-z0-9-]+/imports/([0-9a-f-]{36})$")


def _csv(content: bytes = PEOPLE, name: str = "people.csv") -> dict:
    return {"file": (name, content, "text/csv")}


def _mapping(**extra: str) -> dict[str, str]:
    """The wizard's fields for PEOPLE, as its mapping step posts them."""
    fields = {"column.0": "Email", "map.0": "email", "column.1": "First name", "map.1": "trait",
              "trait.1": "first_name", "column.2": "Plan", "map.2": "trait", "trait.2": "plan",
              "column.3": "Status", "map.3": "status", "has_header": "true", "dedupe": "update"}
    return fields | extra


def _imports(db) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(ImportJob)) or 0)


def _start(b: Browser, slug: str, data: dict, content: bytes = PEOPLE):
    return b.post(f"/p/{slug}/imports", data, files=_csv(content))


def test_empty_list_and_the_wizard_page(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    page = b.get(f"/p/{slug}/imports")
    assert page.status_code == 200 and "No import yet" in page.text
    wizard = b.get(f"/p/{slug}/imports/new").text
    assert "data-import-wizard" in wizard and 'src="/static/imports.js"' in wizard
    assert 'name="file" type="file"' in wizard
    assert b.get("/static/imports.js").status_code == 200


def test_preview_shows_samples_and_suggestions(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    with db.session() as session:
        project = session.scalar(select(Project))
        audience.create_list(session, project.id, "VIP", None)
        topics.create_topic(session, project.id, name="News", description=None)
    done = b.post(f"/p/{slug}/imports/preview", {"header_row": ""}, files=_csv())
    assert done.status_code == 200, done.text
    html = done.text
    assert "<html" not in html and "4 columns, comma-separated" in html
    assert "ada@example.com · grace@example.com" in html
    assert re.search(r'name="map\.0".*?<option value="email" selected', html, re.S)
    assert re.search(r'name="map\.3".*?<option value="status" selected', html, re.S)
    assert re.search(r'name="map\.1".*?<option value="trait" selected', html, re.S)
    assert 'name="trait.1" value="first_name"' in html
    assert 'name="column.1" value="First name"' in html
    assert 'name="has_header" value="true"' in html
    assert "VIP" in html and "News" in html and 'name="trigger_sequences"' in html
    # Header-less: columns are named by index.
    bare = b.post(f"/p/{slug}/imports/preview", {"header_row": "false"}, files=_csv()).text
    assert 'name="column.0" value="0"' in bare and "no header row" in bare
    assert _imports(db) == 0


def test_an_import_runs_and_shows_its_counts_and_error_report(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    with db.session() as session:
        project = session.scalar(select(Project))
        vip = audience.create_list(session, project.id, "VIP", None)
        news = topics.create_topic(session, project.id, name="News", description=None,
                                   default="opt_out")
    data = _mapping(lists=str(vip.id), topics=str(news.id))
    done = _start(b, slug, data)
    assert done.status_code == 200, done.text
    url = done.headers["hx-redirect"]
    import_id = REDIRECT.match(url).group(1)
    queued = b.get(url).text
    assert 'id="import-status">queued<' in queued and "Cancel import" in queued
    assert 'hx-trigger="every 1s"' in queued
    run_jobs(b.client)
    frag = b.get(f"{url}/progress", headers={"HX-Request": "true"}).text
    assert "<html" not in frag and 'id="import-status">completed<' in frag
    assert 'id="import-created">2<' in frag and 'id="import-errors">1<' in frag
    assert "every 1s" not in frag and "See the contacts" in frag
    link = re.search(r'id="error-report" href="http://letter.test(/v1/downloads/[^"]+)"', frag)
    report = b.get(link.group(1))
    assert report.status_code == 200 and "not-an-address" in report.text
    contacts = b.get(f"/p/{slug}/contacts?list={vip.id}").text
    assert 'id="contacts-total">2<' in contacts and "grace@example.com" in contacts
    assert 'id="contacts-total">2<' in b.get(f"/p/{slug}/contacts?topic={news.id}").text
    listed = b.get(f"/p/{slug}/imports").text
    assert f"/imports/{import_id}" in listed and "people.csv" in listed
    assert "completed" in listed and "every 2s" not in listed


def test_bad_input_shows_the_api_message_and_stores_nothing(make_client, db, data_dir):
    b = browser(make_client, db)
    slug = new_project(b)
    none = b.post(f"/p/{slug}/imports", _mapping())
    assert none.status_code == 400
    assert re.search(r'data-error-for="file"[^>]*>file: send the CSV', none.text)
    empty = _start(b, slug, _mapping(), b"")
    assert empty.status_code == 400 and "file: the file is empty" in empty.text
    skipped = _start(b, slug, _mapping(**{"map.0": "ignore"}))
    assert skipped.status_code == 400
    assert re.search(r'id="e-mapping"[^>]*>mapping: map a column to email or external_id',
                     skipped.text)
    # The step comes back as it was filled, with the file's samples.
    assert re.search(r'name="map\.0".*?<option value="ignore" selected', skipped.text, re.S)
    assert "ada@example.com" in skipped.text
    trait = _start(b, slug, _mapping(**{"trait.2": ""}))
    assert trait.status_code == 400 and "is not a trait path" in trait.text
    dedupe = _start(b, slug, _mapping(dedupe="sometimes"))
    assert dedupe.status_code == 400 and "dedupe: one of" in dedupe.text
    preview = b.post(f"/p/{slug}/imports/preview", {}, files=_csv(b"\x00\x01binary"))
    assert preview.status_code == 400 and "file: The file is not CSV text" in preview.text
    assert _imports(db) == 0
    assert not list(Path(data_dir).rglob("*.csv")) and not list(Path(data_dir).rglob("*.part"))


def test_a_file_over_the_limit_gets_the_api_413(make_client, db):
    b = Browser(make_client(max_upload_bytes=300), browser(make_client, db).who)
    slug = new_project(b)
    big = b"email\n" + b"someone@example.com\n" * 50
    done = _start(b, slug, {"column.0": "email", "map.0": "email"}, big)
    assert done.status_code == 413
    assert done.json()["error"]["message"] == "The request body exceeds the limit of 300 bytes."
    assert _imports(db) == 0


def test_cancel_and_cancel_again(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    url = _start(b, slug, _mapping()).headers["hx-redirect"]
    done = b.post(f"{url}/cancel")
    assert done.headers["hx-redirect"] == url
    page = b.get(url).text
    assert 'id="import-status">cancelled<' in page and "Cancel import" not in page
    again = b.post(f"{url}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.text
    run_jobs(b.client)
    assert 'id="import-created">0<' in b.get(url).text


def test_a_member_imports_too(make_client, db):
    owner = browser(make_client, db)
    slug = new_project(owner)
    member = browser(make_client, db, "member", owner.who)
    assert member.get(f"/p/{slug}/imports/new").status_code == 200
    done = _start(member, slug, _mapping())
    assert done.status_code == 200 and done.headers["hx-redirect"]
    assert member.get(done.headers["hx-redirect"]).status_code == 200


def test_another_workspaces_import_is_404(make_client, db):
    theirs = browser(make_client, db)
    new_project(theirs, "Acme")
    url = _start(theirs, "acme", _mapping()).headers["hx-redirect"]
    ours = browser(make_client, db)
    new_project(ours, "Acme")  # the same slug, in another workspace
    assert ours.get(url).status_code == 404
    assert ours.get(f"{url}/progress").status_code == 404
    assert ours.post(f"{url}/cancel").status_code == 404
    assert ours.get("/p/acme/imports/not-an-id").status_code == 404
    assert "people.csv" not in ours.get("/p/acme/imports").text
    assert 'id="import-status">queued<' in theirs.get(url).text


def test_a_forged_csrf_token_is_refused(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    assert b.post(f"/p/{slug}/imports", _mapping(), files=_csv(), csrf="0" * 64
                  ).status_code == 403
    assert b.post(f"/p/{slug}/imports/preview", {}, files=_csv(), csrf=""
                  ).status_code == 403
    assert _imports(db) == 0
    url = _start(b, slug, _mapping()).headers["hx-redirect"]
    assert b.post(f"{url}/cancel", csrf="0" * 64).status_code == 403
    assert 'id="import-status">queued<' in b.get(url).text
