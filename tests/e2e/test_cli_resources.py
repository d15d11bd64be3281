"""Every command group against a real server: the happy path, and ``--json``
printing exactly what the API answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.cli_support import Cli, ingest, new_workspace, server

__all__ = ["server"]

FILTER = {
    "kind": "group", "op": "and", "children": [
        {"kind": "trait", "path": "plan", "op": "neq", "value": "free"},
        {"kind": "event", "eventName": "Signed In", "did": True,
         "window": {"value": 7, "unit": "day"}},
    ],
}
DOC = {"type": "doc", "content": [{"type": "paragraph", "content": [
    {"type": "text", "text": "Hello {{ contact.traits.name }}"}]}]}


@pytest.fixture(scope="module")
def acme(server, tmp_path_factory) -> Cli:
    """A workspace with project ``acme`` made by the spec's own command, and data in it."""
    cli = new_workspace(server, tmp_path_factory.mktemp("acme"))
    cli.ok("projects", "create", "--name", "Acme", "--timezone", "Europe/Paris")
    ingest(
        cli, "acme",
        {"type": "identify", "userId": "user_alice", "email": "alice@example.com",
         "traits": {"name": "Alice", "plan": "pro"}},
        {"type": "identify", "userId": "user_bob", "email": "bob@example.com",
         "traits": {"name": "Bob", "plan": "free"}},
        {"type": "track", "userId": "user_alice", "event": "Signed In"},
        {"type": "group", "userId": "user_alice", "accountId": "acct_acme", "name": "Acme Inc"},
    )
    cli.extra_env["LETTER_PROJECT"] = "acme"
    return cli


def _same(cli: Cli, args: list[str], path: str, params: dict[str, Any] | None = None) -> Any:
    printed = cli.json(*args)
    assert printed == cli.api("GET", path, params=params).json(), args
    return printed


def test_spec_examples_run_as_written(acme, tmp_path):
    (tmp_path / "filter.json").write_text(json.dumps(FILTER))
    done = acme.run(
        "segments", "create", "--project", "acme", "--name", "Paid", "--filter", "@filter.json",
        "--json", cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    segment = json.loads(done.stdout)
    assert segment["filter"] == FILTER and segment["name"] == "Paid"
    assert acme.api("GET", f"/v1/projects/acme/segments/{segment['id']}").json() == segment
    project = _same(acme, ["projects", "get", "acme"], "/v1/projects/acme")
    assert project["timezone"] == "Europe/Paris"


@pytest.mark.parametrize(
    ("args", "path", "params"),
    [
        (["projects", "list"], "/v1/projects", None),
        (["api-keys", "list"], "/v1/tokens", None),
        (["project-tokens", "list"], "/v1/projects/acme/keys", None),
        (["members", "list"], "/v1/members", None),
        (["invitations", "list"], "/v1/invitations", None),
        (["contacts", "list"], "/v1/projects/acme/contacts", None),
        (["contacts", "get", "user_alice"], "/v1/projects/acme/contacts/user_alice", None),
        (["accounts", "list"], "/v1/projects/acme/accounts", None),
        (["accounts", "get", "acct_acme"], "/v1/projects/acme/accounts/acct_acme", None),
        (["events", "list"], "/v1/projects/acme/events", None),
        (["events", "list", "--name", "Signed In"], "/v1/projects/acme/events",
         {"name": "Signed In"}),
        (["traits", "list"], "/v1/projects/acme/traits", None),
        (["suppressions", "list"], "/v1/projects/acme/suppressions", None),
        (["segments", "list"], "/v1/projects/acme/segments", None),
        (["templates", "list"], "/v1/projects/acme/templates", None),
        (["domains", "list"], "/v1/projects/acme/domains", None),
        (["messages", "list"], "/v1/projects/acme/messages", None),
        (["auth", "status"], "/v1/me", None),
    ],
)
def test_reads_print_the_api_json(acme, args, path, params):
    printed = _same(acme, args, path, params)
    assert printed


def test_tables_show_the_rows(acme):
    out = acme.ok("contacts", "list").stdout.splitlines()
    assert out[0].split("\t")[:2] == ["EXTERNAL ID", "EMAIL"]
    assert {line.split("\t")[0] for line in out[1:]} == {"user_alice", "user_bob"}
    traits = acme.ok("traits", "list").stdout
    assert "plan\tcontact\tstring\t2" in traits


def test_tokens_and_ingestion_keys(acme):
    minted = acme.json("api-keys", "create", "--name", "ci")
    assert minted["token"].startswith("lt_pat_")
    assert minted["id"] in acme.ok("api-keys", "list").stdout
    acme.ok("api-keys", "revoke", minted["id"])
    assert minted["id"] not in acme.ok("api-keys", "list").stdout

    key = acme.json("project-tokens", "create", "--name", "Production server")
    assert key["key"].startswith("lt_live_") and key["name"] == "Production server"
    acme.ok("project-tokens", "revoke", key["id"])
    listed = acme.json("project-tokens", "list")["data"]
    assert key["id"] not in {k["id"] for k in listed}


def test_members_and_invitations(acme):
    invited = acme.json("members", "invite", "--email", "new@example.com", "--role", "admin")
    assert (invited["email"], invited["role"], invited["status"]) == (
        "new@example.com", "admin", "pending")
    other = acme.json("invitations", "create", "--email", "other@example.com")
    pending = {i["id"] for i in acme.json("invitations", "list")["data"]}
    assert {invited["invitation_id"], other["id"]} <= pending
    acme.ok("invitations", "revoke", other["id"])
    assert other["id"] not in {i["id"] for i in acme.json("invitations", "list")["data"]}
    gone = acme.run("members", "remove", "0190b0c0-0000-7000-8000-000000000000", "--yes")
    assert gone.returncode == 1 and "not_found" in gone.stderr


def test_contacts_and_suppressions(acme):
    acme.ok("contacts", "suppress", "user_bob")
    assert acme.json("contacts", "get", "user_bob")["unsubscribed_at"] is not None
    acme.ok("contacts", "resubscribe", "user_bob")
    assert acme.json("contacts", "get", "user_bob")["unsubscribed_at"] is None

    added = acme.json("suppressions", "add", "--email", "bob@example.com")
    assert added["email"] == "bob@example.com"
    assert "bob@example.com" in acme.ok("suppressions", "list").stdout
    acme.ok("suppressions", "remove", "bob@example.com")
    assert acme.json("suppressions", "list")["data"] == []

    found = acme.json("contacts", "search", "--filter", "-", stdin=json.dumps(FILTER))
    assert [c["external_id"] for c in found["data"]] == ["user_alice"]


def test_segments_lifecycle(acme, tmp_path):
    path = tmp_path / "f.json"
    path.write_text(json.dumps({"kind": "trait", "path": "plan", "op": "eq", "value": "free"}))
    created = acme.json("segments", "create", "--name", "Free", "--filter", f"@{path}")
    preview = acme.json("segments", "preview", "--filter", f"@{path}")
    assert preview == {"matches": 1, "total": 2}
    renamed = acme.json("segments", "update", created["id"], "--name", "Free plan")
    assert renamed["name"] == "Free plan" and renamed["filter"] == created["filter"]
    assert acme.json("segments", "get", created["id"]) == renamed
    refused = acme.run("segments", "delete", created["id"])
    assert refused.returncode == 2 and "--yes" in refused.stderr
    acme.ok("segments", "delete", created["id"], "--yes")
    assert acme.run("segments", "get", created["id"]).returncode == 1


def test_templates_lifecycle(acme, tmp_path):
    created = acme.json("templates", "create", "--name", "Plain one")
    tid = created["id"]
    assert acme.json("templates", "get", tid) == created
    assert acme.json("templates", "update", tid, "--name", "Renamed")["name"] == "Renamed"
    acme.ok("templates", "default", tid)
    assert acme.json("templates", "get", tid)["is_default"] is True
    reset = acme.json("templates", "reset", tid, "--preset", "branded")
    assert reset["id"] == tid
    logo = tmp_path / "logo.png"
    logo.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000100"
            "05fe02fea7d68a0a0000000049454e44ae426082"
        )
    )
    uploaded = acme.run("templates", "set-logo", tid, str(logo), "--json")
    assert uploaded.returncode == 0, uploaded.stderr
    assert json.loads(uploaded.stdout)["url"].startswith("http")
    acme.ok("templates", "remove-logo", tid)
    other = acme.json("templates", "create", "--name", "Spare")
    acme.ok("templates", "delete", other["id"], "--yes")


def test_domains_sender_identity_and_sending_mode(acme):
    domain = acme.json("domains", "add", "mail.acme.test")
    assert domain["status"] == "pending" and len(domain["dkim_tokens"]) == 3
    listed = acme.json("domains", "list")["data"]
    assert domain["id"] in {d["id"] for d in listed}
    acme.ok("domains", "remove", domain["id"], "--yes")
    project = acme.json(
        "sender-identity", "set", "--from-email", "hello@acme.letter.localhost",
        "--from-name", "Acme Team",
    )
    assert project["from_name"] == "Acme Team"
    mode = acme.json("sending-mode", "set", "letter_subdomain")
    assert mode == acme.api("GET", "/v1/projects/acme").json()
    bad = acme.run("sending-mode", "set", "byo_domain")
    assert bad.returncode == 1 and "bad_request" in bad.stderr


def test_send_a_message_and_read_it_back(acme, tmp_path):
    (tmp_path / "doc.json").write_text(json.dumps(DOC))
    queued = acme.json(
        "messages", "send", "--to", "user_alice", "--subject", "Hi",
        "--body", f"@{tmp_path}/doc.json",
    )
    assert queued["status"] == "queued"
    shown = acme.json("messages", "get", queued["id"])
    direct = acme.api("GET", f"/v1/projects/acme/messages/{queued['id']}").json()
    # The server's worker may send it between the two reads: compare what stays.
    stable = ("id", "subject", "to_email", "kind", "created_at")
    assert set(shown) == set(direct)
    assert {k: shown[k] for k in stable} == {k: direct[k] for k in stable}
    assert shown["subject"] == "Hi" and shown["to_email"] == "alice@example.com"
    assert acme.run("messages", "send", "--subject", "x", "--body", "{}").returncode == 2


def test_raw_api_command(acme):
    me = acme.ok("api", "GET", "/v1/me")
    assert json.loads(me.stdout) == acme.api("GET", "/v1/me").json()
    made = acme.ok(
        "api", "post", "/v1/projects/acme/segments", "--data", "-",
        stdin=json.dumps({"name": "Via api", "filter": FILTER}),
    )
    assert json.loads(made.stdout)["name"] == "Via api"
    paged = acme.ok("api", "GET", "/v1/projects", "--param", "limit=1")
    assert len(json.loads(paged.stdout)["data"]) == 1
    missing = acme.run("api", "GET", "/v1/projects/nope")
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["error"]["code"] == "not_found"
    assert acme.run("api", "FETCH", "/v1/me").returncode == 2
