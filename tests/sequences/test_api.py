"""The Management API of sequences: every status, field and error of
spec/003, drafts under optimistic concurrency, publish checks, and
another workspace's 404 on every route."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from letter.delivery.models import Message
from letter.sequences.models import SequenceVersion
from tests.conftest import assert_error
from tests.sequences.conftest import SIGNED_UP, chain, doc, edge, email, node

GOOD = chain(node("t", "trigger"), email("welcome", "Welcome"),
             node("w", "wait", duration={"value": 2, "unit": "days"}), node("x", "exit"))


def test_create_list_get_rename_delete(flows):
    c, h, base = flows.client, flows.headers, flows.base
    created = c.post(base, json={}, headers=h)
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "name", "status", "trigger", "draft_revision",
                         "published_version_id", "created_at", "updated_at"}
    assert (body["status"], body["draft_revision"], body["trigger"]) == ("active", 0, None)
    one = c.get(f"{base}/{body['id']}", headers=h).json()
    assert one["draft_graph"] == {"nodes": [], "edges": []}
    assert [s["id"] for s in c.get(base, headers=h).json()["data"]] == [body["id"]]
    renamed = c.patch(f"{base}/{body['id']}", json={"name": "Onboarding"}, headers=h)
    assert renamed.json()["name"] == "Onboarding"
    assert c.delete(f"{base}/{body['id']}", headers=h).status_code == 204
    assert_error(c.get(f"{base}/{body['id']}", headers=h), 404, "not_found")


def test_draft_revisions_and_a_stale_write_is_a_conflict_naming_the_current(flows):
    c, h, base = flows.client, flows.headers, flows.base
    sid = c.post(base, json={"name": "F"}, headers=h).json()["id"]
    saved = c.put(f"{base}/{sid}/draft", headers=h,
                  json={"graph": GOOD, "trigger": SIGNED_UP, "expected_revision": 0})
    assert saved.status_code == 200 and saved.json()["revision"] == 1
    assert "updated_at" in saved.json()
    stale = c.put(f"{base}/{sid}/draft", headers=h,
                  json={"graph": {"nodes": [], "edges": []}, "trigger": None,
                        "expected_revision": 0})
    body = assert_error(stale, 409, "conflict")
    assert "revision 1" in body["error"]["message"]
    got = c.get(f"{base}/{sid}", headers=h).json()
    assert (got["draft_revision"], got["draft_graph"], got["trigger"]) == (1, GOOD, SIGNED_UP)


BAD_DRAFTS = [
    ({"nodes": [node("a", "wait", duration={"value": 1, "unit": "weeks"})], "edges": []},
     "graph.nodes[0].config.duration.unit"),
    ({"nodes": [{**node("a", "wait"), "config": {"type": "email"}}], "edges": []},
     "graph.nodes[0].config.type"),
    ({"nodes": [node("a", "wait_event", eventName="X")], "edges": []},
     "graph.nodes[0].config.timeout"),
    ({"nodes": [node("a", "bogus")], "edges": []}, "graph.nodes[0].type"),
    ({"nodes": [node("a", "trigger"), node("a", "exit")], "edges": []}, "graph.nodes[1].id"),
    ({"nodes": [node("a", "trigger")], "edges": [edge("a", "zz")]}, "graph.edges[0].target"),
    ({"nodes": [node("a", "trigger"), node("b", "exit")], "edges": [edge("a", "b", "yes")]},
     "graph.edges[0].branch"),
    ({"nodes": [node("a", "branch"), node("b", "exit")], "edges": [edge("a", "b", "received")]},
     "graph.edges[0].branch"),
    ({"nodes": [node("a", "branch"), node("b", "exit")], "edges": [edge("a", "b")]},
     "graph.edges[0].branch"),
    ({"nodes": [node("a", "branch", condition="plan")], "edges": []},
     "graph.nodes[0].config.condition"),
    ({"nodes": [node("a", "email", sendWindow={"start": "9am", "end": "17:00"})], "edges": []},
     "graph.nodes[0].config.sendWindow.start"),
    ({"nodes": [node("a", "email", extra=1)], "edges": []}, "graph.nodes[0].config.extra"),
    ({"nodes": []}, "graph.edges"),
]


@pytest.mark.parametrize(("graph", "path"), BAD_DRAFTS)
def test_bad_graphs_are_refused_naming_the_path_and_change_nothing(flows, graph, path):
    c, h, base = flows.client, flows.headers, flows.base
    sid = c.post(base, json={}, headers=h).json()["id"]
    bad = c.put(f"{base}/{sid}/draft", headers=h,
                json={"graph": graph, "trigger": SIGNED_UP, "expected_revision": 0})
    body = assert_error(bad, 400, "bad_request")
    assert body["error"]["message"].startswith(path), body
    got = c.get(f"{base}/{sid}", headers=h).json()
    assert (got["draft_revision"], got["trigger"]) == (0, None)


@pytest.mark.parametrize(("trigger", "path"), [
    ({"type": "cron"}, "trigger.type"),
    ({"type": "event"}, "trigger.eventName"),
    ({**SIGNED_UP, "oncePerContact": "yes"}, "trigger.oncePerContact"),
    ({**SIGNED_UP, "where": {"property": "plan", "op": "like", "value": "x"}},
     "trigger.where.op"),
    ({**SIGNED_UP, "where": [{"property": "plan", "op": "eq"}]}, "trigger.where[0].value"),
    ({**SIGNED_UP, "exitOn": {"where": []}}, "trigger.exitOn.eventName"),
    ({"type": "contact_created", "eventName": "x"}, "trigger.eventName"),
])
def test_bad_triggers_are_refused_naming_the_path(flows, trigger, path):
    c, h, base = flows.client, flows.headers, flows.base
    sid = c.post(base, json={}, headers=h).json()["id"]
    bad = c.put(f"{base}/{sid}/draft", headers=h,
                json={"graph": GOOD, "trigger": trigger, "expected_revision": 0})
    assert assert_error(bad, 400, "bad_request")["error"]["message"].startswith(path)


def test_malformed_draft_bodies_are_400(flows):
    c, h, base = flows.client, flows.headers, flows.base
    sid = c.post(base, json={}, headers=h).json()["id"]
    for body in ({"graph": GOOD, "trigger": None}, {"graph": [], "trigger": None,
                                                     "expected_revision": 0},
                 {"graph": GOOD, "trigger": None, "expected_revision": -1}):
        assert_error(c.put(f"{base}/{sid}/draft", headers=h, json=body), 400, "bad_request")
    assert_error(c.patch(f"{base}/{sid}", headers=h, json={"status": "paused"}), 400,
                 "bad_request")


def test_validate_and_publish_run_the_same_checks(flows, db):
    c, h, base = flows.client, flows.headers, flows.base
    cyclic = {"nodes": [node("t", "trigger"), node("t2", "trigger"),
                        node("a", "wait", duration={"value": 0, "unit": "hours"}),
                        node("b", "wait_event", eventName="E",
                             timeout={"value": 1, "unit": "days"}),
                        node("orphan", "exit"),
                        node("e", "email", subject=" ", bodyDoc={"type": "doc", "content": []},
                             templateId="0190a7a0-0000-7000-8000-000000000000"),
                        node("br", "branch", condition={"kind": "trait", "path": "p",
                                                        "op": "nope", "value": 1})],
              "edges": [edge("t", "a"), edge("a", "b"), edge("b", "a", "received"),
                        edge("t2", "e"), edge("e", "br"), edge("br", "orphan", "yes")]}
    trigger = {**SIGNED_UP, "filter": {"kind": "trait", "path": "p"}}
    sid = flows.create(cyclic, trigger, publish=False)
    checked = c.get(f"{base}/{sid}/validate", headers=h)
    assert checked.status_code == 200
    result = checked.json()
    assert result["ok"] is False
    messages = {(e["nodeId"], e["message"].split(":")[0]) for e in result["errors"]}
    expected = {
        (None, "The graph needs exactly one trigger node (it has 2)."),
        (None, "trigger.filter.op"),
        ("a", "A wait must be positive."), ("b", 'The "timeout" leg has no edge.'),
        ("e", "Email has no subject."), ("e", "Email has no body content."),
        ("e", "Template 0190a7a0-0000-7000-8000-000000000000 does not exist in this project."),
        ("br", "condition.op"), ("br", 'The "no" leg has no edge.'),
    }
    assert expected <= messages, messages
    published = c.post(f"{base}/{sid}/publish", headers=h)
    body = assert_error(published, 400, "bad_request")
    assert body["error"]["errors"] == result["errors"]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(SequenceVersion)) == 0
    assert c.get(f"{base}/{sid}", headers=h).json()["published_version_id"] is None


def test_unreachable_nodes_and_cycles_are_named(flows):
    graph = {"nodes": [node("t", "trigger"), node("a", "wait", duration={"value": 1,
                                                                         "unit": "days"}),
                       node("b", "branch", condition={"kind": "suppression",
                                                      "includesSuppressed": False}),
                       node("lost", "exit")],
             "edges": [edge("t", "a"), edge("a", "b"), edge("b", "a", "yes"),
                       edge("b", "t", "no")]}
    sid = flows.create(graph, SIGNED_UP, publish=False)
    errors = flows.client.get(f"{flows.base}/{sid}/validate", headers=flows.headers).json()[
        "errors"]
    pairs = {(e["nodeId"], e["message"]) for e in errors}
    assert ("lost", "Not reachable from the trigger.") in pairs
    assert ("t", "No edge may lead into the trigger.") in pairs
    assert any(m == "This node is part of a cycle." for _, m in pairs)


def test_publish_versions_and_validate_ok(flows, owner):
    c, h, base = flows.client, flows.headers, flows.base
    sid = flows.create(GOOD, SIGNED_UP, publish=False)
    assert c.get(f"{base}/{sid}/validate", headers=h).json() == {"ok": True, "errors": []}
    assert flows.publish(sid) == 1
    assert flows.publish(sid) == 2
    versions = c.get(f"{base}/{sid}/versions", headers=h).json()["data"]
    assert [v["version_number"] for v in versions] == [1, 2]
    assert set(versions[0]) == {"id", "version_number", "trigger", "graph", "published_by",
                                "published_at"}
    assert versions[0]["graph"] == GOOD and versions[0]["published_by"] == str(owner.user_id)
    got = c.get(f"{base}/{sid}", headers=h).json()
    assert got["published_version_id"] == versions[1]["id"]


def test_preview_renders_the_saved_or_given_config(flows, owner):
    c, h, base = flows.client, flows.headers, flows.base
    graph = chain(node("t", "trigger"),
                  email("welcome", "Hi {{ contact.email }}", "Body for {{ contact.email }}"))
    sid = flows.create(graph, SIGNED_UP, publish=False)
    saved = c.post(f"{base}/{sid}/preview", headers=h, json={"node_id": "welcome"})
    assert saved.status_code == 200, saved.text
    assert f"Body for {owner.email}" in saved.json()["text"]
    assert saved.json()["html"].lower().startswith("<!doctype html")
    given = c.post(f"{base}/{sid}/preview", headers=h, json={
        "node_id": "n9", "recipient_email": "zed@example.com",
        "config": {"subject": "S", "body_doc": doc("Snake for {{ contact.email }}")}})
    assert "Snake for zed@example.com" in given.json()["text"]
    camel = c.post(f"{base}/{sid}/preview", headers=h, json={
        "node_id": "n9", "config": {"subject": "S", "bodyDoc": doc("Camel"),
                                    "templateId": None}})
    assert "Camel" in camel.json()["text"]
    for body in ({"node_id": "t"}, {"node_id": "missing"},
                 {"node_id": "welcome", "recipient_email": "not-an-email"},
                 {"node_id": "n", "config": {"subject": "S", "bodyDoc": doc("x"), "zz": 1}},
                 {"node_id": "n", "config": {"subject": "S", "bodyDoc": {"type": "nope"}}}):
        assert_error(c.post(f"{base}/{sid}/preview", headers=h, json=body), 400, "bad_request")


def test_test_email_goes_through_the_outbox_with_the_prefix(flows, owner, db):
    c, h, base = flows.client, flows.headers, flows.base
    sid = flows.create(chain(node("t", "trigger"), email("welcome", "Welcome")), SIGNED_UP,
                       publish=False)
    sent = c.post(f"{base}/{sid}/test-email", headers=h, json={"node_id": "welcome"})
    assert sent.status_code == 200, sent.text
    assert sent.json()["to"] == owner.email
    with db.session() as session:
        message = session.get(Message, uuid.UUID(sent.json()["message_id"]))
        assert (message.kind, message.subject, message.state) == ("test", "[Test] Welcome",
                                                                  "queued")
    other = c.post(f"{base}/{sid}/test-email", headers=h, json={
        "node_id": "x", "recipient_email": "qa@example.com",
        "config": {"subject": "Given", "bodyDoc": doc("B")}})
    assert other.json()["to"] == "qa@example.com"
    assert_error(c.post(f"{base}/{sid}/test-email", headers=h, json={
        "node_id": "x", "config": {"subject": "", "bodyDoc": doc("B")}}), 400, "bad_request")


def test_activity_counts_states_nodes_and_latest(flows):
    graph = chain(node("t", "trigger"), email("e", "Hi"),
                  node("w", "wait", duration={"value": 1, "unit": "days"}))
    sid = flows.create(graph, SIGNED_UP)
    for user in ("a", "b"):
        flows.identify(user)
        flows.track(user, "Signed Up")
    flows.run()
    exited = flows.client.post(f"{flows.base}/{sid}/enrollments/b/exit", headers=flows.headers)
    assert exited.status_code == 200 and exited.json()["state"] == "exited"
    got = flows.client.get(f"{flows.base}/{sid}/activity", headers=flows.headers)
    assert got.status_code == 200
    body = got.json()
    assert body["counts"] == {"active": 0, "waiting": 1, "completed": 0, "exited": 1,
                              "failed": 0}
    nodes = {n["node_id"]: n for n in body["nodes"]}
    assert nodes["w"]["current"] == 1 and nodes["e"]["sent"] == 0  # queued, not sent yet
    assert body["last_24h"]["enrolled"] == 2 and body["last_24h"]["exited"] == 1
    assert [e["external_id"] for e in body["enrollments"]] == ["b", "a"]
    assert body["enrollments"][0]["version_number"] == 1
    assert_error(flows.client.post(f"{flows.base}/{sid}/enrollments/b/exit",
                                   headers=flows.headers), 404, "not_found")
    assert_error(flows.client.post(f"{flows.base}/{sid}/enrollments/nobody/exit",
                                   headers=flows.headers), 404, "not_found")


def test_another_workspace_gets_404_on_every_route(flows, make_account):
    sid = flows.create(GOOD, SIGNED_UP)
    flows.identify("u")
    flows.track("u", "Signed Up")
    stranger = make_account()
    other = flows.client.post("/v1/projects", json={"name": "Acme"}, headers=stranger.headers)
    assert other.status_code == 201 and other.json()["slug"] == flows.slug  # same slug
    c, h, base = flows.client, stranger.headers, flows.base
    calls = [
        ("get", "", None), ("post", "", {}), ("get", f"/{sid}", None),
        ("patch", f"/{sid}", {"name": "x"}), ("delete", f"/{sid}", None),
        ("put", f"/{sid}/draft", {"graph": GOOD, "trigger": None, "expected_revision": 1}),
        ("post", f"/{sid}/publish", None), ("get", f"/{sid}/validate", None),
        ("post", f"/{sid}/preview", {"node_id": "welcome"}),
        ("post", f"/{sid}/test-email", {"node_id": "welcome"}),
        ("get", f"/{sid}/activity", None), ("get", f"/{sid}/versions", None),
        ("post", f"/{sid}/enrollments/u/exit", None),
    ]
    for method, path, body in calls:
        kwargs = {"json": body} if body is not None else {}
        response = getattr(c, method)(base + path, headers=h, **kwargs)
        if path in ("",):
            assert response.status_code in (200, 201)  # their own project's list/create
            continue
        assert_error(response, 404, "not_found")
    assert flows.client.get(f"{flows.base}/{sid}", headers=flows.headers).json()[
        "draft_revision"] == 1


def test_no_token_is_401(flows):
    assert_error(flows.client.get(flows.base), 401, "unauthorized")
