"""Segments endpoints, preview, contact search, counts and tenant isolation."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from letter.clock import utcnow
from letter.contacts.models import Contact, Event
from letter.db.engine import Database
from letter.segments import service
from letter.segments.models import Segment
from letter.worker.loop import Worker
from letter.worker.registry import default_registry
from tests.conftest import assert_error

PAID = {"kind": "group", "op": "and", "children": [
    {"kind": "trait", "path": "plan", "op": "neq", "value": "free"},
    {"kind": "event", "eventName": "Signed In", "did": True,
     "window": {"value": 7, "unit": "day"}},
]}


def seed(db: Database, project: dict[str, Any]) -> dict[str, uuid.UUID]:
    """Four contacts: paid+active, paid+idle, free+active, suppressed paid+active."""
    from letter.projects.models import Project

    now = utcnow()
    out: dict[str, uuid.UUID] = {}
    with db.session() as session:
        project_id = session.scalar(select(Project.id).where(Project.slug == project["slug"]))
        for n, (name, plan, active, unsub) in enumerate([
            ("paid_active", "pro", True, False), ("paid_idle", "pro", False, False),
            ("free_active", "free", True, False), ("suppressed", "team", True, True),
        ]):
            contact = Contact(project_id=project_id, external_id=name, email=f"{name}@x.io",
                              traits={"plan": plan}, created_at=now + timedelta(seconds=n),
                              unsubscribed_at=now if unsub else None)
            session.add(contact)
            session.flush()
            out[name] = contact.id
            at = now - (timedelta(days=1) if active else timedelta(days=30))
            session.add(Event(project_id=project_id, name="Signed In", contact_id=contact.id,
                              occurred_at=at))
    return out


def test_create_get_list_update_delete(client, owner, project, db):
    seed(db, project)
    base = f"/v1/projects/{project['slug']}/segments"
    created = client.post(base, json={"name": "Paid, active", "filter": PAID},
                          headers=owner.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "Paid, active" and body["filter"] == PAID
    assert body["count"] == 2 and body["counted_at"].endswith("Z")
    assert set(body) == {"id", "name", "filter", "count", "counted_at", "created_at",
                         "updated_at"}
    seg = body["id"]
    assert client.get(f"{base}/{seg}", headers=owner.headers).json() == body
    listed = client.get(base, headers=owner.headers).json()
    assert [s["id"] for s in listed["data"]] == [seg]

    narrowed = {"kind": "group", "op": "and",
                "children": [PAID, {"kind": "suppression", "includesSuppressed": False}]}
    patched = client.patch(f"{base}/{seg}", json={"filter": narrowed}, headers=owner.headers)
    assert patched.status_code == 200 and patched.json()["count"] == 1
    renamed = client.patch(f"{base}/{seg}", json={"name": "Renamed"}, headers=owner.headers)
    assert renamed.json()["name"] == "Renamed" and renamed.json()["filter"] == narrowed

    assert client.delete(f"{base}/{seg}", headers=owner.headers).status_code == 204
    assert_error(client.get(f"{base}/{seg}", headers=owner.headers), 404, "not_found")
    assert_error(client.delete(f"{base}/{seg}", headers=owner.headers), 404, "not_found")


def test_preview_counts_matches_and_total(client, owner, project, db):
    seed(db, project)
    url = f"/v1/projects/{project['slug']}/segments/preview"
    response = client.post(url, json={"filter": PAID}, headers=owner.headers)
    assert response.status_code == 200
    assert response.json() == {"matches": 2, "total": 4}
    pro = {"kind": "trait", "path": "plan", "op": "eq", "value": "pro"}  # no joins: one scan
    response = client.post(url, json={"filter": pro}, headers=owner.headers)
    assert response.json() == {"matches": 2, "total": 4}


def test_invalid_filters_are_400_naming_the_path_and_change_nothing(client, owner, project):
    base = f"/v1/projects/{project['slug']}/segments"
    bad = {"kind": "group", "op": "and", "children": [
        {"kind": "trait", "path": "a", "op": "eq", "value": 1},
        {"kind": "trait", "path": "a", "op": "eq", "value": 1},
        {"kind": "trait", "path": "plan", "op": "between", "value": 1}]}
    body = assert_error(client.post(base, json={"name": "x", "filter": bad},
                                    headers=owner.headers), 400, "bad_request")
    assert body["error"]["message"] == 'filter.children[2].op: unknown operator "between"'
    for url, payload in [(f"{base}/preview", {"filter": bad}),
                         (f"/v1/projects/{project['slug']}/contacts/search", {"filter": bad})]:
        assert "children[2].op" in assert_error(
            client.post(url, json=payload, headers=owner.headers), 400,
            "bad_request")["error"]["message"]
    assert_error(client.post(base, json={"name": "x"}, headers=owner.headers), 400, "bad_request")
    assert_error(client.post(base, json={"name": " ", "filter": PAID}, headers=owner.headers),
                 400, "bad_request")
    assert client.get(base, headers=owner.headers).json() == {"data": [], "next_cursor": None}
    good = client.post(base, json={"name": "ok", "filter": PAID}, headers=owner.headers).json()
    assert_error(client.patch(f"{base}/{good['id']}", json={"filter": bad},
                              headers=owner.headers), 400, "bad_request")
    assert client.get(f"{base}/{good['id']}", headers=owner.headers).json()["filter"] == PAID


def test_other_workspace_cannot_see_segments(client, owner, project, make_account):
    base = f"/v1/projects/{project['slug']}/segments"
    seg = client.post(base, json={"name": "ok", "filter": PAID}, headers=owner.headers).json()
    stranger = make_account()
    mine = client.post("/v1/projects", json={"name": "Other"}, headers=stranger.headers).json()
    assert_error(client.get(f"{base}/{seg['id']}", headers=stranger.headers), 404, "not_found")
    assert_error(client.get(base, headers=stranger.headers), 404, "not_found")
    other = f"/v1/projects/{mine['slug']}/segments/{seg['id']}"
    assert_error(client.get(other, headers=stranger.headers), 404, "not_found")
    assert_error(client.patch(other, json={"name": "x"}, headers=stranger.headers), 404,
                 "not_found")
    assert_error(client.delete(other, headers=stranger.headers), 404, "not_found")
    search = f"/v1/projects/{mine['slug']}/contacts/search"
    assert_error(client.post(search, json={"segment_id": seg["id"]}, headers=stranger.headers),
                 404, "not_found")


def test_contact_search_pages_through_matches(client, owner, project, db):
    ids = seed(db, project)
    url = f"/v1/projects/{project['slug']}/contacts/search"
    everyone = {"kind": "group", "op": "and", "children": []}
    first = client.post(url, json={"filter": everyone, "limit": 3}, headers=owner.headers).json()
    assert len(first["data"]) == 3 and first["next_cursor"]
    rest = client.post(url, json={"filter": everyone, "limit": 3, "cursor": first["next_cursor"]},
                       headers=owner.headers).json()
    assert rest["next_cursor"] is None
    assert [c["external_id"] for c in first["data"] + rest["data"]] == [
        "paid_active", "paid_idle", "free_active", "suppressed"]
    contact = first["data"][0]
    assert set(contact) == {"id", "external_id", "email", "traits", "account_id",
                            "unsubscribed_at", "unsubscribe_reason", "created_at", "updated_at"}
    assert contact["id"] == str(ids["paid_active"]) and contact["traits"] == {"plan": "pro"}

    paid = client.post(url, json={"filter": PAID}, headers=owner.headers).json()
    assert {c["external_id"] for c in paid["data"]} == {"paid_active", "suppressed"}
    seg = client.post(f"/v1/projects/{project['slug']}/segments",
                      json={"name": "p", "filter": PAID}, headers=owner.headers).json()
    by_segment = client.post(url, json={"segment_id": seg["id"]}, headers=owner.headers).json()
    assert by_segment == paid
    for body in ({}, {"filter": PAID, "segment_id": seg["id"]}):
        assert_error(client.post(url, json=body, headers=owner.headers), 400, "bad_request")
    assert_error(client.post(url, json={"segment_id": str(uuid.uuid4())}, headers=owner.headers),
                 404, "not_found")
    assert_error(client.post(url, json={"filter": PAID, "cursor": "nope"},
                             headers=owner.headers), 400, "bad_request")


def test_worker_recounts_stale_segments(client, owner, project, db, settings):
    ids = seed(db, project)
    base = f"/v1/projects/{project['slug']}/segments"
    seg = client.post(base, json={"name": "p", "filter": PAID}, headers=owner.headers).json()
    assert seg["count"] == 2
    with db.session() as session:
        session.add(Event(project_id=session.get(Contact, ids["paid_idle"]).project_id,
                          name="Signed In", contact_id=ids["paid_idle"], occurred_at=utcnow()))
    # fresh counts are left alone
    with db.session() as session:
        assert service.recount_stale(session) == 0
    later = utcnow() + service.COUNT_MAX_AGE + timedelta(seconds=1)
    with db.session() as session:
        assert service.recount_stale(session, now=later) == 1
    body = client.get(f"{base}/{seg['id']}", headers=owner.headers).json()
    assert body["count"] == 3 and body["counted_at"] > seg["counted_at"]
    assert "segments.recount" in default_registry().kinds()


def test_worker_job_runs_in_the_loop(db, owner, project, client, settings):
    from letter.runtime import Runtime

    base = f"/v1/projects/{project['slug']}/segments"
    seg = client.post(base, json={"name": "p", "filter": PAID}, headers=owner.headers).json()
    with db.session() as session:
        session.get(Segment, uuid.UUID(seg["id"])).counted_at = None
    worker = Worker(Runtime.build(settings, db=db), queues=["default"])
    worker.schedule_periodic()
    while worker.run_queue_once("default"):
        pass
    assert client.get(f"{base}/{seg['id']}", headers=owner.headers).json()["counted_at"]


def test_members_manage_segments_and_tokens_are_required(client, owner, project, make_account):
    member = make_account(role="member", workspace=owner)
    base = f"/v1/projects/{project['slug']}/segments"
    created = client.post(base, json={"name": "m", "filter": PAID}, headers=member.headers)
    assert created.status_code == 201
    deleted = client.delete(f"{base}/{created.json()['id']}", headers=member.headers)
    assert deleted.status_code == 204
    assert_error(client.post(f"{base}/preview", json={"filter": PAID}), 401, "unauthorized")
    assert_error(client.get(f"{base}/{uuid.uuid4()}", headers=owner.headers), 404, "not_found")
    assert_error(client.get(f"{base}/not-a-uuid", headers=owner.headers), 400, "bad_request")
