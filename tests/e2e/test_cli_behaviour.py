"""How every client command behaves: exit codes, plain and colourless output,
cursor following, JSON arguments, 429 waits and idempotent retries."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import time
from urllib.parse import urlsplit

from tests.e2e.cli_support import LETTER, Cli, new_workspace, server
from tests.e2e.fault_proxy import Fault, FaultProxy

__all__ = ["server"]


def test_exit_codes(server, tmp_path):
    cli = new_workspace(server, tmp_path)
    cli.ok("projects", "create", "--name", "Exits")
    not_found = cli.run("projects", "get", "nope")
    assert not_found.returncode == 1
    assert 'No project "nope" in workspace. (not_found)' in not_found.stderr
    assert not_found.stdout == ""
    bad = cli.run("segments", "create", "-p", "exits", "--name", "x", "--filter", '{"kind":"x"}')
    assert bad.returncode == 1 and "(bad_request)" in bad.stderr
    assert cli.run("projects", "list", "--bogus").returncode == 2
    assert cli.run("segments", "list").returncode == 2  # no project
    create = ("segments", "create", "-p", "exits", "--name", "x", "--filter")
    assert cli.run(*create, "{").returncode == 2
    missing_file = cli.run(*create, "@no.json")
    assert missing_file.returncode == 2 and "cannot read" in missing_file.stderr
    anonymous = cli.run("projects", "list", LETTER_PAT="")
    assert anonymous.returncode == 4 and "letter login" in anonymous.stderr
    revoked = cli.run("projects", "list", LETTER_PAT="lt_pat_" + "0" * 48)
    assert revoked.returncode == 4 and "(unauthorized)" in revoked.stderr


def _run_in_terminal(cli: Cli, *args: str, **env: str) -> bytes:
    """Run with stdout on a pseudo-terminal, as in an interactive shell."""
    leader, follower = pty.openpty()
    env = cli.env(TERM="xterm-256color", COLUMNS="200", **env)
    process = subprocess.Popen([LETTER, *args], env=env, stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=30)
    os.close(leader)
    assert process.returncode == 0
    return b"".join(chunks)


def test_no_escape_codes_when_piped_or_with_no_color(server, tmp_path):
    cli = new_workspace(server, tmp_path)
    cli.ok("projects", "create", "--name", "Colour [bold]me[/bold]")
    piped = cli.ok("projects", "list").stdout
    assert "\x1b" not in piped
    assert piped.splitlines()[0].startswith("SLUG\tNAME\t")
    assert "Colour [bold]me[/bold]" in piped
    coloured = _run_in_terminal(cli, "projects", "list")
    assert b"\x1b[" in coloured and b"Colour [bold]me[/bold]" in coloured
    plain = _run_in_terminal(cli, "projects", "list", NO_COLOR="1")
    assert b"\x1b" not in plain and b"SLUG" in plain and b"Colour [bold]me[/bold]" in plain
    shown = _run_in_terminal(cli, "projects", "get", "colour-bold-me-bold", NO_COLOR="1")
    assert b"\x1b" not in shown and b"timezone" in shown
    assert b"\x1b" in _run_in_terminal(cli, "projects", "--help")
    help_text = _run_in_terminal(cli, "projects", "--help", NO_COLOR="1")
    assert b"\x1b" not in help_text and b"create" in help_text


def test_lists_follow_cursors(server, tmp_path):
    cli = new_workspace(server, tmp_path)
    for name in ("One", "Two", "Three"):
        cli.ok("projects", "create", "--name", name)
    page = cli.json("projects", "list", "--limit", "2")
    assert page == cli.api("GET", "/v1/projects", params={"limit": 2}).json()
    assert page["next_cursor"]
    everything = cli.json("projects", "list", "--all")
    assert [p["slug"] for p in everything["data"]] == ["one", "two", "three"]
    assert everything["next_cursor"] is None
    table = cli.ok("projects", "list", "--limit", "2")
    assert len(table.stdout.splitlines()) == 3 and "--all" in table.stderr
    assert len(cli.ok("projects", "list", "--all").stdout.splitlines()) == 4


def test_429_waits_retry_after_and_a_dropped_create_is_not_repeated(server, tmp_path):
    cli = new_workspace(server, tmp_path)
    target = urlsplit(server.base_url)
    assert target.hostname and target.port
    plan = [Fault.status_of(429, "rate_limited", {"Retry-After": "1"}), Fault.drop()]
    with FaultProxy(target.hostname, target.port, plan) as proxy:
        started = time.monotonic()
        done = cli.run("projects", "create", "--name", "Once", "--json", LETTER_API_URL=proxy.url)
        elapsed = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        assert proxy.actions() == ["429", "drop", "pass"]
    assert elapsed >= 1.0
    # The retry after the dropped answer carried the same Idempotency-Key: one project.
    slugs = [p["slug"] for p in cli.json("projects", "list")["data"]]
    assert slugs == ["once"]
    assert json.loads(done.stdout)["slug"] == "once"


def test_help_is_quick_to_reach_and_complete(server, tmp_path):
    cli = Cli(server, tmp_path)
    out = cli.ok("--help").stdout
    for group in ("login", "logout", "auth", "api", "projects", "api-keys", "project-tokens",
                  "members", "invitations", "contacts", "accounts", "events", "traits",
                  "suppressions", "segments", "templates", "domains", "sender-identity",
                  "sending-mode", "messages", "serve", "worker", "db", "admin"):
        assert f" {group} " in out, group
