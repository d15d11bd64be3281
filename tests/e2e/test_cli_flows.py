"""The sequence and broadcast command groups against a real server: a flow
drafted, validated, published and triggered; a broadcast created, checked,
sent and watched to the end."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.cli_support import Cli, ingest, new_workspace, server

__all__ = ["server"]

DOC = {"type": "doc", "content": [{"type": "paragraph", "content": [
    {"type": "text", "text": "Hello {{ contact.traits.name }}"}]}]}
GRAPH = {
    "nodes": [
        {"id": "start", "type": "trigger", "config": {"type": "trigger"}},
        {"id": "welcome", "type": "email",
         "config": {"type": "email", "subject": "Welcome", "bodyDoc": DOC}},
    ],
    "edges": [{"id": "e1", "source": "start", "target": "welcome"}],
}
TRIGGER = {"type": "event", "eventName": "Signed Up"}


@pytest.fixture(scope="module")
def acme(server, tmp_path_factory) -> Cli:
    cli = new_workspace(server, tmp_path_factory.mktemp("flows"))
    cli.ok("projects", "create", "--name", "Acme", "--timezone", "UTC")
    ingest(cli, "acme",
           {"type": "identify", "userId": "ada", "email": "ada@example.com",
            "traits": {"name": "Ada", "plan": "pro"}},
           {"type": "identify", "userId": "bob", "email": "bob@example.com",
            "traits": {"name": "Bob", "plan": "free"}})
    return cli


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_sequence_from_draft_to_an_enrolment(acme, tmp_path):
    made = acme.json("sequences", "create", "--name", "Onboarding", "--project", "acme")
    sid = made["id"]
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps({"graph": GRAPH, "trigger": TRIGGER}))
    pushed = acme.json("sequences", "draft", "push", sid, f"@{draft}",
                       "--expected-revision", str(made["draft_revision"]), "--project", "acme")
    stale = acme.run("sequences", "draft", "push", sid, f"@{draft}",
                     "--expected-revision", str(made["draft_revision"]), "--project", "acme")
    assert stale.returncode == 1 and "conflict" in stale.stderr
    assert acme.json("sequences", "validate", sid, "--project", "acme") == {
        "ok": True, "errors": []}
    assert acme.json("sequences", "publish", sid, "--project", "acme")["version_number"] == 1
    versions = acme.json("sequences", "versions", sid, "--project", "acme")["data"]
    assert [v["version_number"] for v in versions] == [1]
    assert pushed["revision"] == made["draft_revision"] + 1
    ingest(acme, "acme", {"type": "track", "userId": "ada", "event": "Signed Up"})
    wait_for(lambda: acme.json("sequences", "activity", sid, "--project", "acme")
             ["counts"]["completed"] == 1)
    preview = acme.json("sequences", "preview", sid, "--node", "welcome",
                        "--recipient", "ada@example.com", "--project", "acme")
    assert "Hello Ada" in preview["text"]
    table = acme.ok("sequences", "list", "--project", "acme").stdout
    assert "Onboarding" in table and sid in table


def test_a_broadcast_sent_and_watched_to_the_end(acme, tmp_path):
    audience = json.dumps({"kind": "inline", "filter": {
        "kind": "trait", "path": "plan", "op": "eq", "value": "pro"}})
    made = acme.json("broadcasts", "create", "--name", "May news", "--subject", "News",
                     "--body", json.dumps(DOC), "--audience", audience, "--project", "acme")
    bid = made["id"]
    checked = acme.json("broadcasts", "preflight", bid, "--project", "acme")
    assert checked["matches"] == 1 and checked["subject"] == "News"
    assert acme.json("broadcasts", "schedule", bid, "--project", "acme")["status"] in (
        "scheduled", "sending", "sent")
    watched = acme.ok("broadcasts", "live", bid, "--watch", "--project", "acme").stdout
    assert watched.strip().splitlines()[-1].startswith("sent (1 recipients)")
    live = acme.json("broadcasts", "live", bid, "--project", "acme")
    assert live["status"] == "sent" and live["stats"]["sent"] == 1
    refused = acme.run("broadcasts", "update", bid, "--subject", "Late", "--project", "acme")
    assert refused.returncode == 1 and "conflict" in refused.stderr
