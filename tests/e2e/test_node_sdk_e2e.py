"""``@letterapp/node`` against a real ``letter serve`` on loopback: the import
guide's script verbatim (only ``iterateUsers`` filled in), a kill and a resume,
retries through a fault-injecting proxy, merges read back through the
Management API. One server per backend for the module; a project per test.

Skipped when ``node`` is not installed (see ``node_support``).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKENDS, new_database
from tests.e2e.conftest import start_server, stop_server
from tests.e2e.fault_proxy import Fault, FaultProxy
from tests.e2e.node_support import (
    EXAMPLE,
    NODE_SDK,
    TSX,
    build_sdk,
    guide_script,
    node_env,
    require_node,
    run,
)
from tests.e2e.sdk_support import EXAMPLES, Project, Server, new_project, source_state


@pytest.fixture(scope="module")
def node() -> str:
    path = require_node()
    build_sdk()
    return path


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           node: str) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("node-sdk-e2e")
    with new_database(request.param, directory) as url:
        live = start_server(directory / "data", url)
        try:
            yield Server(live, live.bootstrap()["token"])
        finally:
            stop_server(live)


@pytest.fixture
def project(server: Server) -> Iterator[Project]:
    created = new_project(server)
    yield created
    created.http.close()


def make_source(path: Path, rows: int) -> None:
    made = subprocess.run([sys.executable, str(EXAMPLES / "make_source.py"), "--rows", str(rows),
                           str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert made.returncode == 0, made.stderr


def expected(source: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The source's contacts and accounts as the guide's script sends them
    (``signupAt.toISOString()`` adds milliseconds)."""
    contacts, accounts = source_state(source)
    for contact in contacts.values():
        contact["traits"]["signup_at"] = contact["traits"]["signup_at"].replace("Z", ".000Z")
    return contacts, accounts


def imported(project: Project) -> tuple[dict[str, Any], dict[str, Any]]:
    accounts = project.all("/accounts")
    by_uuid = {a["id"]: a["external_id"] for a in accounts}
    contacts = {c["external_id"]: {"email": c["email"], "traits": c["traits"],
                                   "account": by_uuid.get(c["account_id"])}
                for c in project.all("/contacts")}
    return contacts, {a["external_id"]: {"name": a["name"], "traits": a["traits"]}
                      for a in accounts}


def result(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_guide_script_imports_everything(project: Project, tmp_path: Path) -> None:
    rows = 350
    source = tmp_path / "users.db"
    make_source(source, rows)
    script = guide_script()
    try:
        command = [str(TSX), str(script), "--source", str(source)]
        env = node_env(project.key, project.base_url)
        dry = run([*command, "--dry-run"], env, cwd=tmp_path)
        assert dry.returncode == 0, dry.stderr
        assert sum(line.startswith("would import ") for line in dry.stdout.splitlines()) == rows
        assert project.all("/contacts") == []
        (tmp_path / ".letter-import-checkpoint.json").unlink()  # the guide's dry run moves it

        done = run(command, env, cwd=tmp_path)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        lines = done.stdout.splitlines()
        assert lines == [*(f"imported {k}" for k in (100, 200, 300, 350)),
                         f"done. {rows} contacts processed."]
        assert imported(project) == expected(source)

        # Re-running from scratch is safe: same state, every item a duplicate.
        (tmp_path / ".letter-import-checkpoint.json").unlink()
        again = run(command, env, cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert imported(project) == expected(source)
    finally:
        script.unlink()


def test_guide_script_resumes_after_sigkill(project: Project, tmp_path: Path) -> None:
    rows = 450
    source, checkpoint = tmp_path / "users.db", tmp_path / ".letter-import-checkpoint.json"
    make_source(source, rows)
    script = guide_script()
    command = [str(TSX), str(script), "--source", str(source)]
    host, port = project.server.address
    try:
        # Pages of 100 users are two batches (flushAt 100; identify + group).
        # Pages 1 and 2 go through; page 3's first batch reaches the server but
        # its answer never comes back. Then SIGKILL.
        plan = [Fault.passing()] * 4 + [Fault.hold()]
        with FaultProxy(host, port, plan) as proxy:
            # tsx runs the script in a child node process: kill the whole group.
            first = subprocess.Popen(command, env=node_env(project.key, proxy.url), cwd=tmp_path,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
            try:
                assert proxy.held.wait(60), "page 3 was never sent"
                state = json.loads(checkpoint.read_text())
                os.killpg(first.pid, signal.SIGKILL)
                out, _ = first.communicate(timeout=30)
            finally:
                if first.poll() is None:
                    os.killpg(first.pid, signal.SIGKILL)
                    first.wait()
        assert first.returncode == -signal.SIGKILL
        assert state == {"cursor": "usr_000200"}
        assert out.splitlines()[:2] == ["imported 100", "imported 200"]
        landed = len(project.all("/contacts"))
        assert 200 < landed < 300, landed  # page 3's first batch landed, unacknowledged

        with FaultProxy(host, port) as proxy:
            second = run(command, node_env(project.key, proxy.url), cwd=tmp_path)
        assert second.returncode == 0, second.stderr
        assert second.stdout.splitlines() == [
            *(f"imported {k}" for k in (100, 200, 250)), "done. 250 contacts processed."]
        sent = [item["user_id"] for e in proxy.log for item in e.request["batch"]]
        assert min(sent) == "usr_000201"  # nothing before the checkpoint was sent again
        first_answer = proxy.log[0].response
        assert first_answer is not None and first_answer["duplicates"] > 0
        assert imported(project) == expected(source)
    finally:
        script.unlink()


def test_example_rerun_applies_corrected_rows_only(project: Project, tmp_path: Path) -> None:
    """The example's message ids carry a digest of the row: a re-run with
    corrected data is applied, unchanged rows are duplicates."""
    rows = 120
    source = tmp_path / "users.db"
    make_source(source, rows)
    command = [str(TSX), str(EXAMPLE), "--source", str(source)]
    host, port = project.server.address
    first = run(command, node_env(project.key, project.base_url), cwd=tmp_path)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    assert imported(project) == expected(source)

    connection = sqlite3.connect(source)
    with connection:
        connection.execute("UPDATE users SET plan = 'enterprise' WHERE id = 'usr_000005'")
        # The last row of its workspace: rows of one workspace carry their own mrr
        # and the last one applied wins.
        fixed = connection.execute(
            "SELECT max(id), workspace_id FROM users WHERE workspace_id"
            " IS NOT NULL GROUP BY workspace_id ORDER BY 2 LIMIT 1"
        ).fetchone()
        connection.execute("UPDATE users SET workspace_mrr = 999 WHERE id = ?", (fixed[0],))
    connection.close()
    (tmp_path / ".letter-import-checkpoint.json").unlink()
    with FaultProxy(host, port) as proxy:
        second = run(command, node_env(project.key, proxy.url), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    answers = [e.response for e in proxy.log if e.response is not None]
    assert sum(a["accepted"] for a in answers) == 2  # the two corrected items
    sent_items = sum(len(e.request["batch"]) for e in proxy.log)
    assert sum(a["duplicates"] for a in answers) == sent_items - 2
    assert project.get("/contacts/usr_000005")["traits"]["plan"] == "enterprise"
    assert project.get(f"/accounts/{fixed[1]}")["traits"]["mrr"] == 999
    assert imported(project) == expected(source)


def test_retries_ride_out_503_429_and_a_lost_response(project: Project, node: str) -> None:
    plan = [
        Fault.status_of(503, "unavailable"),
        Fault.status_of(503, "unavailable"),
        Fault.status_of(429, "rate_limited", {"Retry-After": "1"}),
        Fault.drop(),  # the server applies the batch; the SDK never hears back
    ]
    n = 30
    with FaultProxy(*project.server.address, plan) as proxy:
        done = run([node, str(NODE_SDK / "test" / "e2e" / "retries.mjs")],
                   {**node_env(project.key, proxy.url), "USERS": str(n)})
    assert result(done) == {"closed": True, "failures": []}
    actions = proxy.actions()
    assert actions[:4] == ["503", "503", "429", "drop"] and set(actions[4:]) == {"pass"}
    first_ids = [item["message_id"] for item in proxy.log[0].request["batch"]]
    assert len(first_ids) == 2 * n
    assert all([i["message_id"] for i in e.request["batch"]] == first_ids for e in proxy.log[:5])
    assert proxy.log[3].at - proxy.log[2].at >= 0.95  # Retry-After: 1
    assert proxy.log[3].response == {"accepted": 2 * n, "duplicates": 0, "rejected": []}
    assert proxy.log[4].response == {"accepted": 0, "duplicates": 2 * n, "rejected": []}
    assert {e.user_agent for e in proxy.log} == {
        f"letterapp-node/{json.loads((NODE_SDK / 'package.json').read_text())['version']}"}
    assert sorted(c["external_id"] for c in project.all("/contacts")) == sorted(
        f"r_{i}" for i in range(n))
    assert sorted(e["properties"]["i"] for e in project.all("/events")) == list(range(n))


def test_counts_deep_merges_nulls_and_links(project: Project, node: str) -> None:
    n = 20
    done = run([node, str(NODE_SDK / "test" / "e2e" / "merge.mjs")],
               {**node_env(project.key, project.base_url), "USERS": str(n)})
    assert result(done) == {"closed": True, "failures": []}

    expected_account = {f"u_{i:02d}": (f"acct_{i % 3}" if i % 4 else None) for i in range(n)}
    expected_account["u_01"] = "acct_0"
    contacts = project.all("/contacts", limit=7)
    assert sorted(c["external_id"] for c in contacts) == sorted(expected_account)
    accounts = {a["id"]: a for a in project.all("/accounts")}
    for c in contacts:
        i = int(c["external_id"][2:])
        want: dict[str, Any] = {"name": f"User {i}", "plan": "free", "nickname": f"n{i}",
                                "address": {"city": "Paris", "zip": f"750{i:02d}"}}
        if i % 2 == 0:
            want.update(plan="pro", nickname=None, address={"city": "Lyon", "zip": f"750{i:02d}"})
        assert c["email"] == f"u{i}@example.com"
        assert c["traits"] == want
        linked = accounts[c["account_id"]]["external_id"] if c["account_id"] else None
        assert linked == expected_account[c["external_id"]]
    assert project.get("/contacts/u_01")["timezone"] == "Europe/Paris"
    assert project.get("/accounts/acct_0")["traits"] == {
        "plan": "team", "billing": {"seats": 5, "mrr": 49}}
    detail = project.get("/contacts/u_10")
    assert [(e["name"], e["properties"], e["occurred_at"]) for e in detail["recent_events"]] == [
        ("Signed In", {"i": 10}, "2026-01-01T00:10:00.000Z")]
    events = project.all("/events")
    assert len(events) == n + 1
    (ghost,) = [e for e in events if e["name"] == "Visited"]
    assert ghost["contact_id"] is None and ghost["external_user_id"] == "nobody"
