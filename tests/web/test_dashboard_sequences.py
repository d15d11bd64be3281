"""Sequences in the dashboard: a template flow to start, the island's draft
save with its expected revision (409 on a stale one), checks, publish."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

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
