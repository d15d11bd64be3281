"""Broadcasts in the dashboard: composer, preflight, test send, schedule,
live counters, pause, resume and cancel."""

from __future__ import annotations

from sqlalchemy import select

from letter.broadcasts.models import Broadcast
from letter.delivery.models import Message
from letter.web.broadcasts import body_doc, body_text
from tests.web.dash import browser, new_project
from tests.web.test_dashboard_contacts import _seed


def _broadcast(db):
    with db.session() as session:
        return session.scalars(select(Broadcast)).one()


def _draft(b, slug):
    done = b.post(f"/p/{slug}/broadcasts", {"name": "Launch"})
    assert done.status_code == 200, done.text
    return done.headers["hx-redirect"]


def test_body_text_round_trip():
    text = "Hello {{ contact.email }}\nsecond line\n\nBye"
    doc = body_doc(text)
    assert doc["content"][0]["content"][1] == {"type": "hardBreak"}
    assert body_text(doc) == text
    assert body_doc(" \n\n ") is None


def test_empty_list_then_compose_with_errors_by_their_fields(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    assert "No broadcast yet" in b.get(f"/p/{slug}/broadcasts").text
    url = _draft(b, slug)
    page = b.get(url)
    assert page.status_code == 200 and "Compose" in page.text and "All contacts" in page.text
    bad = b.post(url, {"name": "", "subject": "Hi", "body": "x", "audience": "everyone"})
    assert bad.status_code == 400 and 'id="e-name"' in bad.text
    missing = b.post(url, {"name": "Launch", "audience": "00000000-0000-0000-0000-000000000000"})
    assert missing.status_code in (400, 404) and "audience" in missing.text
    assert _broadcast(db).subject is None
    # Preflight names what is missing.
    pre = b.post(f"{url}/preflight")
    assert pre.status_code == 400 and "subject, body_doc, audience: missing" in pre.text


def test_preflight_test_send_schedule_live_pause_resume_cancel(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    _seed(b, slug, 3)
    b.post(f"/p/{slug}/contact/suppress?id=u0")
    url = _draft(b, slug)
    saved = b.post(url, {"name": "Launch", "subject": "Hello {{ contact.email }}",
                         "preview": "News", "body": "We launched.\n\nBye",
                         "audience": "everyone"})
    assert saved.headers["hx-redirect"].endswith("?saved=1"), saved.text
    page = b.get(url).text
    assert "We launched." in page and 'value="Hello {{ contact.email }}"' in page
    pre = b.post(f"{url}/preflight")
    assert pre.status_code == 200, pre.text
    assert "<strong>2</strong> of 3 contacts" in pre.text and "suppressed: 1 left out" in pre.text
    bad_test = b.post(f"{url}/test", {"to": "nope"})
    assert bad_test.status_code == 400 and 'id="e-to"' in bad_test.text
    sent = b.post(f"{url}/test", {"to": "qa@example.com", "as_external_id": "u1"})
    assert sent.status_code == 200 and "[Test] copy is on its way" in sent.text
    with db.session() as session:
        [test_copy] = session.scalars(select(Message)).all()
        assert test_copy.to_email == "qa@example.com" and test_copy.subject.startswith("[Test]")
    past = b.post(f"{url}/schedule", {"scheduled_at": "2001-01-01T09:00", "tz_offset": "0"})
    assert past.status_code == 400 and "scheduled_at: must not be in the past" in past.text
    assert _broadcast(db).status == "draft"
    later = b.post(f"{url}/schedule", {"scheduled_at": "2099-01-01T09:00", "tz_offset": "-60"})
    assert later.headers["hx-redirect"] == url
    live = b.get(url).text
    assert 'id="broadcast-status">scheduled<' in live and 'hx-trigger="every 2s"' in live
    assert "2099-01-01 08:00 UTC" in live
    fragment = b.get(f"{url}/live")
    assert "<html" not in fragment.text and 'id="stat-sent">0<' in fragment.text
    assert b.post(f"{url}/pause").status_code == 200
    assert _broadcast(db).status == "paused"
    assert "Resume" in b.get(url).text
    b.post(f"{url}/resume")
    assert _broadcast(db).status in ("scheduled", "sending")
    b.post(f"{url}/cancel")
    assert _broadcast(db).status == "cancelled"
    assert 'hx-trigger="every 2s"' not in b.get(url).text
    # A sent or cancelled broadcast is no longer a draft: editing is refused.
    refused = b.post(url, {"name": "Again", "subject": "x", "body": "y", "audience": "everyone"})
    assert refused.status_code == 409


def test_another_workspaces_broadcast_is_404(make_client, db):
    theirs = browser(make_client, db)
    url = _draft(theirs, new_project(theirs, "Theirs"))
    ours = browser(make_client, db)
    mine = new_project(ours, "Ours")
    broadcast_id = url.rsplit("/", 1)[1]
    assert ours.get(f"/p/{mine}/broadcasts/{broadcast_id}").status_code == 404
    assert ours.post(f"/p/{mine}/broadcasts/{broadcast_id}/cancel").status_code == 404
    assert ours.get(f"/p/{mine}/broadcasts/not-a-uuid").status_code == 404


def test_the_body_editor_json_is_stored_and_a_bad_document_is_refused(make_client, db):
    import orjson

    b = browser(make_client, db)
    slug = new_project(b)
    url = _draft(b, slug)
    page = b.get(url).text
    assert 'src="/static/islands/body-editor.js"' in page and 'name="body_doc"' in page
    assert b.get("/static/islands/body-editor.js").status_code == 200
    doc = {"type": "doc", "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "Bold", "marks": [{"type": "bold"}]}]}]}
    form = {"name": "Launch", "subject": "Hi", "audience": "everyone", "body": "ignored"}
    bad = dict(doc, content=[{"type": "marquee"}])
    refused = b.post(url, {**form, "body_doc": orjson.dumps(bad).decode()})
    assert refused.status_code == 400 and 'id="e-body_doc"' in refused.text
    assert "unknown node type" in refused.text
    assert b.post(url, {**form, "body_doc": "{nope"}).status_code == 400
    assert _broadcast(db).body_doc is None
    assert b.post(url, {**form, "body_doc": orjson.dumps(doc).decode()}).status_code == 200
    assert _broadcast(db).body_doc == doc
    # The page gives the editor the stored document back.
    assert "&#34;marks&#34;" in b.get(url).text


def test_the_composer_picks_a_topic(make_client, db):
    from letter.audience import topics
    from letter.projects.models import Project

    b = browser(make_client, db)
    slug = new_project(b)
    with db.session() as session:
        project = session.scalar(select(Project))
        news = topics.create_topic(session, project.id, name="News", description=None)
    url = _draft(b, slug)
    page = b.get(url).text
    assert 'id="f-topic_id"' in page and "Subscribers of News" in page
    form = {"name": "Launch", "subject": "Hi", "body": "x", "audience": "everyone"}
    saved = b.post(url, {**form, "topic_id": str(news.id)})
    assert saved.headers["hx-redirect"].endswith("?saved=1"), saved.text
    assert _broadcast(db).topic_id == news.id
    assert f'value="{news.id}" selected' in b.get(url).text
    gone = b.post(url, {**form, "topic_id": "00000000-0000-0000-0000-000000000000"})
    assert gone.status_code == 400 and 'id="e-topic_id"' in gone.text
    assert "topic_id: no topic" in gone.text and _broadcast(db).topic_id == news.id
    b.post(url, {**form, "topic_id": ""})
    assert _broadcast(db).topic_id is None
