"""Sequences in the dashboard: a template flow to start, the island's draft
save with its expected revision (409 on a stale one), trigger settings,
checks on their nodes, preview and test send of an email step, publish."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from letter.delivery.models import Message
from letter.sequences.models import Sequence
from tests.web.dash import browser, new_project

INITIAL = re.compile(r'<script type="application/json">(.*?)</script>', re.S)


def _sequence(db):
    with db.session() as session:
        return session.scalars(select(Sequence)).one()


def _json(b, url, body, csrf=None):
    return b.client.post(url, content=json.dumps(body),
                         headers={"Content-Type": "application/json",
                                  "X-CSRF-Token": b.csrf if csrf is None else csrf})


def test_a_new_sequence_starts_from_the_template_flow_and_publishes(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    assert "No sequence yet" in b.get(f"/p/{slug}/sequences").text
    url = b.post(f"/p/{slug}/sequences", {"name": "Onboarding"}).headers["hx-redirect"]
    page = b.get(url)
    assert page.status_code == 200 and 'src="/static/islands/flow-editor.js"' in page.text
    initial = json.loads(INITIAL.search(page.text).group(1))
    assert [n["type"] for n in initial["graph"]["nodes"]] == [
        "trigger", "email", "wait", "email", "exit"]
    assert initial["trigger"] == {"type": "event", "eventName": "Signed Up"}
    assert initial["revision"] == 1
    assert "passes every publish check" in page.text
    published = b.post(f"{url}/publish")
    assert published.headers["hx-redirect"].endswith("?published=1")
    assert "Version 1" in b.get(url).text
    assert "Onboarding" in b.get(f"/p/{slug}/sequences").text
    assert b.post(f"{url}/status", {"status": "archived"}).status_code == 200
    assert _sequence(db).status == "archived"


def test_draft_saves_with_expected_revision_and_reports_checks(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    url = b.post(f"/p/{slug}/sequences", {"name": "Nurture"}).headers["hx-redirect"]
    graph = _sequence(db).draft_graph
    branch = {"id": "b", "type": "branch", "position": {"x": 0, "y": 0},
              "config": {"type": "branch", "condition": {"kind": "trait", "path": "plan",
                                                         "op": "eq", "value": "pro"}}}
    edited = {"nodes": [*graph["nodes"], branch], "edges": graph["edges"]}
    saved = _json(b, f"{url}/draft", {"graph": edited, "trigger": _sequence(db).trigger,
                                       "expected_revision": 1})
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["revision"] == 2 and any(e["nodeId"] == "b" for e in body["errors"])
    stale = _json(b, f"{url}/draft", {"graph": graph, "trigger": None, "expected_revision": 1})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    assert "Stale revision 1" in stale.json()["error"]["message"]
    bad = _json(b, f"{url}/draft", {"graph": {"nodes": [{"id": "x", "type": "teleport"}],
                                              "edges": []}, "trigger": None,
                                    "expected_revision": 2})
    assert bad.status_code == 400 and "graph.nodes[0]" in bad.json()["error"]["message"]
    forged = _json(b, f"{url}/draft", {"graph": graph, "trigger": None,
                                       "expected_revision": 2}, csrf="0" * 64)
    assert forged.status_code == 403
    assert _sequence(db).draft_revision == 2
    refused = b.post(f"{url}/publish")
    assert refused.status_code == 400 and "publish check" in refused.text


def test_another_workspaces_sequence_is_404(make_client, db):
    theirs = browser(make_client, db)
    url = theirs.post(f"/p/{new_project(theirs, 'Theirs')}/sequences",
                      {"name": "X"}).headers["hx-redirect"]
    ours = browser(make_client, db)
    mine = new_project(ours, "Ours")
    sequence_id = url.rsplit("/", 1)[1]
    assert ours.get(f"/p/{mine}/sequences/{sequence_id}").status_code == 404
    assert _json(ours, f"/p/{mine}/sequences/{sequence_id}/draft",
                 {"graph": {"nodes": [], "edges": []}, "trigger": None,
                  "expected_revision": 1}).status_code == 404


def _email_config(text):
    return {"type": "email", "subject": "Hi {{ contact.email }}", "preview": "Read me",
            "bodyDoc": {"type": "doc", "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": text, "marks": [{"type": "bold"}]}]}]}}


def test_the_editor_gets_templates_and_the_preview_and_test_urls(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    url = b.post(f"/p/{slug}/sequences", {"name": "Onboarding"}).headers["hx-redirect"]
    page = b.get(url).text
    initial = json.loads(INITIAL.search(page).group(1))
    assert [t["name"] for t in initial["templates"]] == ["Default"]
    assert f'data-preview-url="{url}/preview"' in page
    assert f'data-test-url="{url}/test-email"' in page
    assert f'data-me="{b.who.email}"' in page


def test_trigger_settings_and_step_options_are_stored_and_their_errors_named(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    url = b.post(f"/p/{slug}/sequences", {"name": "Cart"}).headers["hx-redirect"]
    graph = _sequence(db).draft_graph
    nodes = graph["nodes"]
    nodes[1]["config"]["sendWindow"] = {"days": ["mon", "tue"], "start": "09:00", "end": "17:00"}
    nodes[1]["config"]["bodyDoc"] = _email_config("Your cart waits.")["bodyDoc"]
    trigger = {"type": "event", "eventName": "Cart Created", "oncePerContact": True,
               "where": [{"property": "total", "op": "gt", "value": "10"}],
               "filter": {"kind": "trait", "path": "plan", "op": "eq", "value": "pro"},
               "exitOn": {"eventName": "Order Placed",
                          "where": [{"property": "cart_id", "op": "exists"}]}}
    saved = _json(b, f"{url}/draft", {"graph": graph, "trigger": trigger,
                                       "expected_revision": 1})
    assert saved.status_code == 200 and saved.json()["errors"] == [], saved.text
    stored = _sequence(db)
    assert stored.trigger == trigger
    assert stored.draft_graph["nodes"][1]["config"]["sendWindow"]["days"] == ["mon", "tue"]
    # A shape error names its path (the island puts it on the trigger node).
    bad = _json(b, f"{url}/draft", {"graph": graph, "expected_revision": 2,
                                     "trigger": {**trigger, "where": [{"property": "",
                                                                       "op": "eq"}]}})
    assert bad.status_code == 400
    assert bad.json()["error"]["message"].startswith("trigger.where[0].property")
    # A bad filter and a body the renderer refuses: publish checks on their nodes.
    nodes[1]["config"]["bodyDoc"] = {"type": "doc", "content": [{"type": "teleport"}]}
    checked = _json(b, f"{url}/draft", {"graph": graph, "expected_revision": 2,
                                         "trigger": {**trigger, "filter": {"kind": "x"}}})
    errors = checked.json()["errors"]
    assert {e["nodeId"] for e in errors} == {"trigger", "welcome"}, errors
    assert any("not a valid document" in e["message"] for e in errors)


def test_preview_and_test_send_an_email_step_as_edited(make_client, db):
    b = browser(make_client, db)
    slug = new_project(b)
    url = b.post(f"/p/{slug}/sequences", {"name": "Welcome"}).headers["hx-redirect"]
    shown = _json(b, f"{url}/preview", {"node_id": "welcome",
                                         "config": _email_config("Edited, not saved.")})
    assert shown.status_code == 200, shown.text
    assert "<strong>Edited, not saved.</strong>" in shown.json()["html"]
    assert "Read me" in shown.json()["html"]
    saved = _json(b, f"{url}/preview", {"node_id": "welcome"})
    assert "Glad you are here." in saved.json()["text"]
    missing = _json(b, f"{url}/preview", {"node_id": "nope"})
    assert missing.status_code == 400 and "no node" in missing.json()["error"]["message"]
    sent = _json(b, f"{url}/test-email", {"node_id": "welcome", "recipient_email": "qa@acme.test",
                                          "config": _email_config("Test body.")})
    assert sent.status_code == 200 and sent.json()["to"] == "qa@acme.test", sent.text
    bad = _json(b, f"{url}/test-email", {"node_id": "welcome", "recipient_email": "nope"})
    assert bad.status_code == 400
    mine = _json(b, f"{url}/test-email", {"node_id": "welcome"})
    assert mine.json()["to"] == b.who.email
    with db.session() as session:
        messages = session.scalars(select(Message).where(Message.kind == "test")).all()
        assert sorted(m.to_email for m in messages) == sorted(["qa@acme.test", b.who.email])
        assert all(m.subject.startswith("[Test] ") for m in messages)
    for path in ("preview", "test-email"):
        forged = _json(b, f"{url}/{path}", {"node_id": "welcome"}, csrf="0" * 64)
        assert forged.status_code == 403
        malformed = b.client.post(f"{url}/{path}", content="{", headers={
            "Content-Type": "application/json", "X-CSRF-Token": b.csrf})
        assert malformed.status_code == 400


def test_members_preview_and_test_send_other_workspaces_get_404(make_client, db):
    owner = browser(make_client, db)
    slug = new_project(owner)
    url = owner.post(f"/p/{slug}/sequences", {"name": "W"}).headers["hx-redirect"]
    member = browser(make_client, db, "member", workspace=owner.who)
    assert _json(member, f"{url}/preview", {"node_id": "welcome"}).status_code == 200
    assert _json(member, f"{url}/test-email", {"node_id": "welcome"}).status_code == 200
    stranger = browser(make_client, db)
    theirs = new_project(stranger, "Theirs")
    sequence_id = url.rsplit("/", 1)[1]
    for path in ("preview", "test-email"):
        for target in (f"/p/{theirs}/sequences/{sequence_id}/{path}", f"{url}/{path}"):
            assert _json(stranger, target, {"node_id": "welcome"}).status_code == 404
    with db.session() as session:
        assert len(session.scalars(select(Message)).all()) == 1
