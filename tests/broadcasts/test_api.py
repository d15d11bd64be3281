"""The broadcasts API (spec/003 Broadcasts): drafts, validation, states,
preflight and tenancy, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from letter.broadcasts.models import Broadcast
from letter.contacts.models import Contact
from letter.delivery.models import Message
from letter.jobs import Job
from letter.projects.models import Project
from tests.conftest import assert_error

DOC = {"type": "doc", "content": [{"type": "paragraph", "content": [
    {"type": "text", "text": "Hello {{ contact.traits.name }}"}]}]}
PAID = {"kind": "trait", "path": "plan", "op": "eq", "value": "paid"}


def base(project: dict[str, Any]) -> str:
    return f"/v1/projects/{project['slug']}/broadcasts"


def add_contacts(db, project, *people: dict[str, Any]) -> None:
    """``{"user_id", "traits": {"email", ...}, "unsubscribed": reason}`` each."""
    with db.session() as session:
        project_id = session.scalars(select(Project.id).where(
            Project.slug == project["slug"])).one()
        for person in people:
            traits = dict(person.get("traits", {}))
            reason = person.get("unsubscribed")
            session.add(Contact(project_id=project_id,
                                external_id=person["user_id"], email=traits.pop("email", None),
                                traits=traits, unsubscribe_reason=reason,
                                unsubscribed_at=datetime.now(UTC) if reason else None))


def draft(client, owner, project, **fields: Any) -> dict[str, Any]:
    body = {"name": "May news", "subject": "Hello", "body_doc": DOC,
            "audience": {"kind": "inline", "filter": PAID}, **fields}
    response = client.post(base(project), json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_get_list_patch_delete(client, owner, project):
    created = client.post(base(project), json={}, headers=owner.headers)
    assert created.status_code == 201, created.text
    b = created.json()
    assert b["status"] == "draft" and b["scheduled_at"] is None and "body_doc" not in b
    assert b["from_email"].startswith("hello@")
    assert set(b) >= {"id", "name", "status", "subject", "preview", "audience", "template_id",
                      "from_email", "scheduled_at", "completed_at", "cancelled_at",
                      "created_at", "updated_at"}
    patched = client.patch(f"{base(project)}/{b['id']}", headers=owner.headers, json={
        "name": "June", "subject": "Hi", "body_doc": DOC,
        "audience": {"kind": "inline", "filter": PAID}})
    assert patched.status_code == 200, patched.text
    got = client.get(f"{base(project)}/{b['id']}", headers=owner.headers).json()
    assert got["name"] == "June" and got["body_doc"] == DOC
    assert [x["id"] for x in client.get(base(project), headers=owner.headers).json()["data"]] \
        == [b["id"]]
    assert client.delete(f"{base(project)}/{b['id']}", headers=owner.headers).status_code == 204
    assert_error(client.get(f"{base(project)}/{b['id']}", headers=owner.headers), 404,
                 "not_found")


def test_bad_audiences_are_400_and_change_nothing(client, owner, project, db):
    b = draft(client, owner, project)
    url = f"{base(project)}/{b['id']}"
    bad = [
        {"kind": "segment", "segmentId": "0190f1d2-0000-7000-8000-000000000000"},
        {"kind": "segment", "segmentId": "nope"},
        {"kind": "inline", "filter": {"kind": "trait", "path": "plan", "op": "bogus"}},
        {"kind": "list"},
        "segment",
    ]
    for audience in bad:
        body = assert_error(client.patch(url, json={"audience": audience, "name": "X"},
                                         headers=owner.headers), 400, "bad_request")
        assert "audience" in body["error"]["message"]
    assert client.get(url, headers=owner.headers).json()["name"] == "May news"
    assert_error(client.post(base(project), json={"audience": bad[0]}, headers=owner.headers),
                 400, "bad_request")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 1


def test_saved_segment_audience(client, owner, project):
    seg = client.post(f"/v1/projects/{project['slug']}/segments", headers=owner.headers,
                      json={"name": "Paid", "filter": PAID}).json()
    b = draft(client, owner, project, audience={"kind": "segment", "segmentId": seg["id"]})
    assert b["audience"] == {"kind": "segment", "segmentId": seg["id"]}


def test_preflight_counts_matches_and_exclusions(client, owner, project, db):
    add_contacts(db, project,
                 {"user_id": "a", "traits": {"email": "a@example.com", "plan": "paid"}},
                 {"user_id": "b", "traits": {"email": "b@example.com", "plan": "paid"},
                  "unsubscribed": "unsubscribe_link"},
                 {"user_id": "e", "traits": {"email": "e@example.com", "plan": "paid"},
                  "unsubscribed": "bounce"},
                 {"user_id": "c", "traits": {"plan": "paid"}},
                 {"user_id": "d", "traits": {"email": "d@example.com", "plan": "free"}})
    b = draft(client, owner, project)
    response = client.post(f"{base(project)}/{b['id']}/preflight", headers=owner.headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["matches"], report["total"], report["subject"]) == (1, 5, "Hello")
    assert report["excluded"] == {"no_email": 1, "suppressed": 1, "bounced": 1,
                                  "not_in_topic": 0}
    reasons = {e["external_id"]: e["reason"] for e in report["excluded_sample"]}
    assert reasons == {"b": "suppressed", "c": "no_email", "e": "bounced"}


def test_preflight_names_what_is_missing(client, owner, project):
    b = client.post(base(project), json={}, headers=owner.headers).json()
    body = assert_error(client.post(f"{base(project)}/{b['id']}/preflight",
                                    headers=owner.headers), 400, "bad_request")
    for word in ("subject", "body_doc", "audience"):
        assert word in body["error"]["message"]
    empty = draft(client, owner, project)  # nobody is on the paid plan
    body = assert_error(client.post(f"{base(project)}/{empty['id']}/preflight",
                                    headers=owner.headers), 400, "bad_request")
    assert "audience" in body["error"]["message"]


def test_schedule_states_and_conflicts(client, owner, project, db):
    add_contacts(db, project,
                 {"user_id": "a", "traits": {"email": "a@example.com", "plan": "paid"}})
    b = draft(client, owner, project)
    url = f"{base(project)}/{b['id']}"
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    assert_error(client.post(f"{url}/schedule", json={"scheduled_at": past},
                             headers=owner.headers), 400, "bad_request")
    assert client.get(url, headers=owner.headers).json()["status"] == "draft"
    later = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    scheduled = client.post(f"{url}/schedule", json={"scheduled_at": later.isoformat()},
                            headers=owner.headers)
    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["status"] == "scheduled"
    assert scheduled.json()["scheduled_at"].startswith(later.strftime("%Y-%m-%dT%H:%M:%S"))
    with db.session() as session:
        job = session.scalars(select(Job).where(Job.kind == "broadcasts.send")).one()
        assert abs((job.run_at - later).total_seconds()) < 1
    assert_error(client.patch(url, json={"name": "x"}, headers=owner.headers), 409, "conflict")
    assert_error(client.post(f"{url}/schedule", json={"scheduled_at": None},
                             headers=owner.headers), 409, "conflict")
    assert_error(client.post(f"{url}/resume", headers=owner.headers), 409, "conflict")
    assert client.post(f"{url}/pause", headers=owner.headers).json()["status"] == "paused"
    assert client.post(f"{url}/resume", headers=owner.headers).json()["status"] == "scheduled"
    cancelled = client.post(f"{url}/cancel", headers=owner.headers).json()
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"]
    assert_error(client.post(f"{url}/cancel", headers=owner.headers), 409, "conflict")
    assert_error(client.post(f"{url}/pause", headers=owner.headers), 409, "conflict")


def test_deleting_a_sending_broadcast_is_409(client, owner, project, db):
    b = draft(client, owner, project)
    with db.session() as session:
        session.get_one(Broadcast, uuid.UUID(b["id"])).status = "sending"
    assert_error(client.delete(f"{base(project)}/{b['id']}", headers=owner.headers), 409,
                 "conflict")
    assert_error(client.patch(f"{base(project)}/{b['id']}", json={"name": "x"},
                              headers=owner.headers), 409, "conflict")


def test_test_send_queues_a_test_copy(client, owner, project, db):
    add_contacts(db, project,
                 {"user_id": "a", "traits": {"email": "a@example.com", "name": "Ada"}})
    b = draft(client, owner, project)
    url = f"{base(project)}/{b['id']}/test"
    assert_error(client.post(url, json={"to": "not an email"}, headers=owner.headers), 400,
                 "bad_request")
    assert_error(client.post(url, json={"to": "me@acme.test", "as_external_id": "zz"},
                             headers=owner.headers), 400, "bad_request")
    sent = client.post(url, json={"to": "me@acme.test", "as_external_id": "a"},
                       headers=owner.headers)
    assert sent.status_code == 202, sent.text
    with db.session() as session:
        message = session.get_one(Message, uuid.UUID(sent.json()["id"]))
        assert message.kind == "test" and message.subject == "[Test] Hello"
        assert message.to_email == "me@acme.test"
        contact = session.get_one(Contact, message.contact_id)
        assert contact.external_id == "a"
        assert message.broadcast_id is None


def test_another_workspace_gets_404_everywhere(client, owner, project, make_account):
    b = draft(client, owner, project)
    stranger = make_account()
    mine = client.post("/v1/projects", json={"name": "Other"}, headers=stranger.headers).json()
    for slug in (project["slug"], mine["slug"]):
        root = f"/v1/projects/{slug}/broadcasts"
        one = f"{root}/{b['id']}"
        calls = [("get", one, None), ("patch", one, {"name": "x"}), ("delete", one, None),
                 ("post", f"{one}/preflight", None),
                 ("post", f"{one}/schedule", {"scheduled_at": None}),
                 ("post", f"{one}/pause", None), ("post", f"{one}/resume", None),
                 ("post", f"{one}/cancel", None), ("get", f"{one}/live", None),
                 ("post", f"{one}/test", {"to": "x@example.com"})]
        if slug == project["slug"]:
            calls += [("get", root, None), ("post", root, {})]
        for method, path, body in calls:
            kwargs = {"json": body} if body is not None else {}
            response = client.request(method.upper(), path, headers=stranger.headers, **kwargs)
            assert_error(response, 404, "not_found")
    assert client.get(f"{base(project)}/{b['id']}", headers=owner.headers).status_code == 200
