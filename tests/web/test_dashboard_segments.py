"""The segment builder: edits, live count, saving, errors by their condition."""

from __future__ import annotations

import re

from sqlalchemy import select

from letter.segments.models import Segment
from tests.web.dash import browser, new_project
from tests.web.test_dashboard_contacts import _seed

COUNT = re.compile(r'id="preview-count">([\d,]+)<')


def _segments(db):
    with db.session() as session:
        return [(s.name, s.filter) for s in session.scalars(select(Segment))]


def test_builder_edits_and_counts_live(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    _seed(b, slug, 4)
    page = b.get(f"/p/{slug}/segments/new")
    assert page.status_code == 200 and 'name="r.0.path"' in page.text
    form = {"name": "Pro", "r.kind": "group", "r.op": "and", "r.0.kind": "trait",
            "r.0.path": "plan", "r.0.op": "eq", "r.0.value": "pro"}
    preview = b.post(f"/p/{slug}/segments/preview", form)
    assert COUNT.search(preview.text).group(1) == "2" and "of 4 contacts" in preview.text
    grown = b.post(f"/p/{slug}/segments/builder", {**form, "edit": "add-event:r"})
    assert 'id="builder"' in grown.text and 'name="r.1.event"' in grown.text
    assert "<html" not in grown.text
    # An event condition half filled: the API's message, by that condition.
    half = {**form, "r.1.kind": "event", "r.1.did": "did", "r.1.event": "",
            "r.1.wvalue": "", "r.1.wunit": "day"}
    bad = b.post(f"/p/{slug}/segments/preview", half)
    assert "filter.children[1].eventName: must be a string of 1-255 characters" in bad.text
    done = {**half, "r.1.event": "Signed In", "r.1.wvalue": "7"}
    assert COUNT.search(b.post(f"/p/{slug}/segments/preview", done).text).group(1) == "1"
    nested = b.post(f"/p/{slug}/segments/builder", {**done, "edit": "add-group:r"})
    assert 'name="r.2.op"' in nested.text
    removed = b.post(f"/p/{slug}/segments/builder", {**done, "edit": "remove:r.0"})
    assert 'name="r.0.event"' in removed.text and "r.1.kind" not in removed.text


def test_saving_a_segment_and_bad_input_changes_nothing(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    _seed(b, slug, 4)
    form = {"name": "Pro", "r.kind": "group", "r.op": "and", "r.0.kind": "trait",
            "r.0.path": "plan", "r.0.op": "gt", "r.0.value": "1"}
    bad = b.post(f"/p/{slug}/segments", {**form, "r.0.path": "a..b"})
    assert bad.status_code == 400
    assert 'id="e-r.0"' in bad.text and "filter.children[0].path" in bad.text
    unnamed = b.post(f"/p/{slug}/segments", {**form, "name": ""})
    assert unnamed.status_code == 400 and 'id="e-name"' in unnamed.text
    assert _segments(db) == []
    ok = b.post(f"/p/{slug}/segments", {**form, "r.0.path": "seats", "r.0.value": "1"})
    assert ok.status_code == 200 and "/contacts?segment=" in ok.headers["hx-redirect"]
    listed = b.get(f"/p/{slug}/contacts?segment=" + ok.headers["hx-redirect"].split("=")[1])
    assert 'id="contacts-total">2<' in listed.text  # seats 2 and 3
    [(_name, spec)] = _segments(db)
    assert spec == {"kind": "group", "op": "and", "children": [
        {"kind": "trait", "path": "seats", "op": "gt", "value": "1"}]}
    with db.session() as session:
        seg = session.scalars(select(Segment)).one()
    edit = b.get(f"/p/{slug}/segments/{seg.id}")
    assert 'value="seats"' in edit.text and "Segment: Pro" in edit.text
    assert "Pro" in b.get(f"/p/{slug}/segments").text
    renamed = b.post(f"/p/{slug}/segments/{seg.id}", {**form, "name": "Many seats",
                                                     "r.0.path": "seats"})
    assert renamed.status_code == 200
    assert _segments(db)[0][0] == "Many seats"
    assert b.post(f"/p/{slug}/segments/{seg.id}/delete").status_code == 200
    assert _segments(db) == []


def test_segments_of_another_workspace_are_404(make_client, db):
    theirs = browser(make_client, db)
    slug = new_project(theirs, "Theirs")
    ok = theirs.post(f"/p/{slug}/segments", {"name": "All", "r.kind": "group", "r.op": "and"})
    seg_id = ok.headers["hx-redirect"].split("=")[1]
    ours = browser(make_client, db)
    ours_slug = new_project(ours, "Ours")
    assert ours.get(f"/p/{ours_slug}/segments/{seg_id}").status_code == 404
    assert ours.post(f"/p/{ours_slug}/segments/{seg_id}/delete").status_code == 404
    assert ours.get("/p/theirs/segments").status_code == 404


def test_list_and_topic_conditions(make_client, db):
    from letter.audience import service as audience
    from letter.audience import topics
    from letter.projects.models import Project

    b = browser(make_client, db)
    slug = new_project(b)
    _seed(b, slug, 4)
    with db.session() as session:
        project = session.scalar(select(Project))
        vip = audience.create_list(session, project.id, "VIP", None)
        audience.add_members(session, project.id, vip.id, external_ids=["u0", "u1", "u2"])
        news = topics.create_topic(session, project.id, name="News", description=None,
                                   default="opt_out")
    form = {"name": "VIP", "r.kind": "group", "r.op": "and"}
    grown = b.post(f"/p/{slug}/segments/builder", {**form, "edit": "add-list:r"}).text
    assert 'name="r.0.list"' in grown and ">VIP<" in grown and "is not in the list" in grown
    grown = b.post(f"/p/{slug}/segments/builder",
                   {**form, "r.0.kind": "list", "r.0.member": "true", "edit": "add-topic:r"})
    assert 'name="r.1.topic"' in grown.text and ">News<" in grown.text
    # No list chosen yet: the API's message, at that condition.
    unchosen = b.post(f"/p/{slug}/segments/preview", {**form, "r.0.kind": "list",
                                                      "r.0.member": "true", "r.0.list": ""})
    assert "filter.children[0].listId: must be a list id (uuid)" in unchosen.text
    members = {**form, "r.0.kind": "list", "r.0.member": "true", "r.0.list": str(vip.id)}
    assert COUNT.search(b.post(f"/p/{slug}/segments/preview", members).text).group(1) == "3"
    not_news = {**members, "r.1.kind": "topic", "r.1.subscribed": "false",
                "r.1.topic": str(news.id)}
    assert COUNT.search(b.post(f"/p/{slug}/segments/preview", not_news).text).group(1) == "3"
    saved = b.post(f"/p/{slug}/segments", not_news)
    assert saved.headers["hx-redirect"].startswith(f"/p/{slug}/contacts?segment=")
    ((_, spec),) = _segments(db)
    assert spec["children"] == [
        {"kind": "list", "listId": str(vip.id), "member": True},
        {"kind": "topic", "topicId": str(news.id), "subscribed": False}]
    with db.session() as session:
        seg_id = session.scalar(select(Segment.id))
    page = b.get(f"/p/{slug}/segments/{seg_id}").text
    assert re.search(rf'name="r.0.list".*?value="{vip.id}" selected', page, re.S)
    assert re.search(r'name="r.1.subscribed".*?value="false" selected', page, re.S)
