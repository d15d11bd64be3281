"""``letter lists`` and ``letter topics`` against a real server: every command,
``--json`` printing exactly what the API answers, and errors as exit codes."""

from __future__ import annotations

import pytest

from tests.e2e.cli_support import Cli, ingest, new_workspace, server

__all__ = ["server"]


@pytest.fixture(scope="module")
def acme(server, tmp_path_factory) -> Cli:
    cli = new_workspace(server, tmp_path_factory.mktemp("audience"))
    cli.ok("projects", "create", "--name", "Acme")
    ingest(cli, "acme",
           {"type": "identify", "userId": "ada", "email": "ada@example.com"},
           {"type": "identify", "userId": "bo", "email": "bo@example.com"})
    cli.extra_env["LETTER_PROJECT"] = "acme"
    return cli


def test_lists_commands(acme):
    made = acme.json("lists", "create", "--name", "Beta", "--description", "Early users")
    assert made["name"] == "Beta" and made["description"] == "Early users"
    path = f"/v1/projects/acme/lists/{made['id']}"
    assert acme.json("lists", "get", made["id"]) == acme.api("GET", path).json()
    assert acme.json("lists", "list") == acme.api("GET", "/v1/projects/acme/lists",
                                                  params={"limit": 50}).json()
    added = acme.json("lists", "members", "add", made["id"], "--external-id", "ada",
                      "--external-id", "nobody")
    assert added == {"added": 1, "already_members": 0, "not_found": ["nobody"]}
    by_email = acme.json("lists", "members", "add", made["id"], "--email", "BO@example.com")
    assert by_email["added"] == 1
    members = acme.json("lists", "members", "list", made["id"])
    assert members == acme.api("GET", f"{path}/members", params={"limit": 50}).json()
    assert sorted(c["external_id"] for c in members["data"]) == ["ada", "bo"]
    table = acme.ok("lists", "members", "list", made["id"]).stdout
    assert "ada@example.com" in table and "EXTERNAL ID" in table
    removed = acme.ok("lists", "members", "remove", made["id"], "bo@example.com")
    assert "Removed" in removed.stderr
    assert acme.json("lists", "get", made["id"])["member_count"] == 1
    renamed = acme.json("lists", "update", made["id"], "--name", "Beta 2")
    assert renamed["name"] == "Beta 2" and renamed == acme.api("GET", path).json()
    acme.ok("lists", "delete", made["id"], "--yes")
    assert acme.api("GET", path).status_code == 404


def test_topics_commands(acme):
    made = acme.json("topics", "create", "--name", "Product", "--default", "opt_out",
                     "--visibility", "private", "--description", "Launches")
    assert (made["default"], made["visibility"]) == ("opt_out", "private")
    path = f"/v1/projects/acme/topics/{made['id']}"
    assert acme.json("topics", "get", made["id"]) == acme.api("GET", path).json()
    assert acme.json("topics", "list") == acme.api("GET", "/v1/projects/acme/topics",
                                                   params={"limit": 50}).json()
    chosen = acme.json("topics", "set", "ada", made["id"])
    assert chosen["subscribed"] is True and chosen["explicit"] is True
    left = acme.json("topics", "set", "ada@example.com", made["id"], "--unsubscribed")
    assert left["subscribed"] is False
    contact = acme.json("contacts", "get", "ada")
    assert [(t["name"], t["subscribed"]) for t in contact["topics"]] == [("Product", False)]
    public = acme.json("topics", "update", made["id"], "--visibility", "public")
    assert public["visibility"] == "public" and public == acme.api("GET", path).json()
    acme.ok("topics", "delete", made["id"], "--yes")
    assert acme.api("GET", path).status_code == 404


def test_errors_are_exit_codes(acme):
    bad = acme.run("lists", "create", "--name", " ")
    assert bad.returncode == 1 and "name" in bad.stderr
    assert acme.run("lists", "members", "add", "x").returncode == 2  # neither option
    missing = acme.run("topics", "get", "00000000-0000-0000-0000-000000000000")
    assert missing.returncode == 1 and "No topic" in missing.stderr
    assert acme.run("topics", "create", "--name", "x", "--default", "maybe").returncode == 2
    assert acme.run("lists", "delete", "00000000-0000-0000-0000-000000000000").returncode == 2
