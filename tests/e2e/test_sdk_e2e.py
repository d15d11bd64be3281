"""``letterapp`` against a real ``letter serve`` on loopback: what the SDK sends
is read back through the Management API, exactly.

One server per backend for the module (started by the helpers of
``tests/e2e/conftest.py``); every test gets its own project and key.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from letterapp import ItemRejected, Letter

from tests.conftest import BACKENDS, new_database
from tests.e2e.conftest import start_server, stop_server
from tests.e2e.fault_proxy import Fault, FaultProxy
from tests.e2e.sdk_support import (
    ENDINGS,
    EXAMPLES,
    EXIT_SCRIPT,
    Errors,
    Project,
    Server,
    new_project,
    source_state,
)


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("sdk-e2e")
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


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_counts_deep_merges_nulls_and_links(project: Project) -> None:
    n = 40
    errors = Errors()
    expected_account: dict[str, str | None] = {}
    with Letter(api_key=project.key, base_url=project.base_url, on_error=errors) as letter:
        for i in range(n):
            letter.identify(
                user_id=f"u_{i:02d}", email=f"u{i}@example.com",
                timezone="Europe/Paris" if i % 2 else None,
                traits={"name": f"User {i}", "plan": "free", "nickname": f"n{i}",
                        "address": {"city": "Paris", "zip": f"750{i:02d}"}},
            )
            expected_account[f"u_{i:02d}"] = None
        for i in range(0, n, 2):  # a nested merge, and a trait sent as null
            letter.identify(f"u_{i:02d}", traits={"plan": "pro", "address": {"city": "Lyon"},
                                                  "nickname": None})
        for i in range(n):
            if i % 4:
                account = f"acct_{i % 3}"
                letter.group(f"u_{i:02d}", account, name=f"Account {i % 3}",
                             traits={"plan": "team", "billing": {"seats": 5}})
                expected_account[f"u_{i:02d}"] = account
        letter.group("u_01", "acct_0", traits={"billing": {"mrr": 49}})  # u_01 moves
        expected_account["u_01"] = "acct_0"
        for i in range(n):
            letter.track(f"u_{i:02d}", "Signed In", properties={"i": i},
                         timestamp=T0 + timedelta(minutes=i))
            if i % 5 == 0:
                letter.track(f"u_{i:02d}", "Upgraded", properties={"plan": "pro"},
                             timestamp=T0 + timedelta(hours=2))
        letter.track("nobody", "Visited", properties={"path": "/pricing"})
        assert letter.flush(timeout=30)
    assert errors.calls == []

    contacts = project.all("/contacts", limit=7)  # 6 pages
    assert sorted(c["external_id"] for c in contacts) == sorted(expected_account)
    accounts = {a["id"]: a for a in project.all("/accounts")}
    assert sorted(a["external_id"] for a in accounts.values()) == ["acct_0", "acct_1", "acct_2"]
    for c in contacts:
        i = int(c["external_id"][2:])
        assert c["email"] == f"u{i}@example.com"
        want: dict[str, Any] = {"name": f"User {i}", "plan": "free", "nickname": f"n{i}",
                                "address": {"city": "Paris", "zip": f"750{i:02d}"}}
        if i % 2 == 0:
            want.update(plan="pro", nickname=None, address={"city": "Lyon", "zip": f"750{i:02d}"})
        assert c["traits"] == want
        linked = accounts[c["account_id"]]["external_id"] if c["account_id"] else None
        assert linked == expected_account[c["external_id"]]

    detail = project.get("/contacts/u_10")
    assert "nickname" in detail["traits"] and detail["traits"]["nickname"] is None
    assert detail["timezone"] is None
    assert detail["account"]["external_id"] == "acct_1" and detail["account"]["name"] == "Account 1"
    assert [(e["name"], e["properties"]) for e in detail["recent_events"]] == [
        ("Upgraded", {"plan": "pro"}), ("Signed In", {"i": 10})]
    assert detail["recent_events"][1]["occurred_at"] == "2026-01-01T00:10:00.000Z"
    moved = project.get("/contacts/u_01")
    assert moved["account"]["external_id"] == "acct_0" and moved["timezone"] == "Europe/Paris"
    assert project.get("/contacts/u_00")["account"] is None

    acct = project.get("/accounts/acct_0")
    assert acct["name"] == "Account 0"
    assert acct["traits"] == {"plan": "team", "billing": {"seats": 5, "mrr": 49}}
    assert sorted(c["external_id"] for c in acct["contacts"]) == sorted(
        u for u, a in expected_account.items() if a == "acct_0")

    events = project.all("/events")
    assert len(events) == n + n // 5 + 1
    (ghost,) = [e for e in events if e["name"] == "Visited"]
    assert ghost["contact_id"] is None and ghost["external_user_id"] == "nobody"
    assert all(e["contact_id"] for e in events if e["name"] != "Visited")


# The spec's quick start, verbatim; only base_url is added to the constructor.
QUICK_START = '''\
import os
from letterapp import ItemRejected, Letter

letter = Letter(api_key=os.environ["LETTER_API_KEY"])

letter.identify(
    user_id=user.id,
    email=user.email,
    traits={"name": user.name, "plan": "free"},
)

letter.group(
    user_id=user.id,
    account_id=workspace.id,
    name=workspace.name,
    traits={"plan": workspace.plan, "mrr": 49},
)

letter.track(
    user_id=user.id,
    event="Workspace Created",
    properties={"workspace_id": workspace.id},
)

# Required before the process exits on long-running servers.
letter.close()
'''

CONTEXT_MANAGER = '''\
with Letter(api_key=os.environ["LETTER_API_KEY"]) as letter:
    letter.track(user_id=user.id, event="Workspace Created")
'''

SERVERLESS = '''\
letter = Letter(api_key=os.environ["LETTER_API_KEY"], flush_at=1)

def handler(event, context):
    letter.track(user_id=user_id, event="Checkout Started")
    letter.flush()
'''

CONSTRUCTOR = 'Letter(api_key=os.environ["LETTER_API_KEY"]'
WITH_BASE_URL = 'Letter(api_key=os.environ["LETTER_API_KEY"], base_url=os.environ["LETTER_API_URL"]'


def self_hosted(snippet: str) -> str:
    assert CONSTRUCTOR in snippet
    return snippet.replace(CONSTRUCTOR, WITH_BASE_URL)


def test_spec_quick_start_runs_unchanged(project: Project, tmp_path: Path) -> None:
    prelude = (
        "from types import SimpleNamespace\n"
        "user = SimpleNamespace(id='usr_42', email='ada@example.com', name='Ada Lovelace')\n"
        "workspace = SimpleNamespace(id='ws_7', name='Analytical Engines', plan='team')\n"
    )
    # Unchanged: the server address comes from LETTER_API_URL (see script_env).
    done = project.run_script(prelude + QUICK_START + CONTEXT_MANAGER, tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stderr

    contact = project.get("/contacts/usr_42")
    assert contact["email"] == "ada@example.com"
    assert contact["traits"] == {"name": "Ada Lovelace", "plan": "free"}
    assert contact["account"]["external_id"] == "ws_7"
    assert [(e["name"], e["properties"]) for e in contact["recent_events"]] == [
        ("Workspace Created", {}), ("Workspace Created", {"workspace_id": "ws_7"})]
    account = project.get("/accounts/ws_7")
    assert account["name"] == "Analytical Engines"
    assert account["traits"] == {"plan": "team", "mrr": 49}


def test_a_rejected_item_reaches_on_error_as_its_own_error(project: Project) -> None:
    errors = Errors()
    with Letter(api_key=project.key, base_url=project.base_url, on_error=errors) as letter:
        letter.identify(user_id="fine", email="fine@example.com")
        letter.identify(user_id="broken", email="not-an-email")
    ((error, items),) = errors.calls
    assert isinstance(error, ItemRejected)
    assert error.code == "bad_request" and "not-an-email" in error.message
    assert error.status is None and error.batch_status == 200 and error.index == 1
    assert items[0]["user_id"] == "broken"
    assert project.get("/contacts/fine")["email"] == "fine@example.com"


def test_serverless_mode_delivers_each_handler_call(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """flush_at=1 and flush() per call: every event is on the server when the handler returns."""
    with FaultProxy(*project.server.address) as proxy:
        monkeypatch.setenv("LETTER_API_KEY", project.key)
        monkeypatch.setenv("LETTER_API_URL", proxy.url)
        namespace: dict[str, Any] = {"os": os, "Letter": Letter, "user_id": None}
        exec(self_hosted(SERVERLESS), namespace)
        letter: Letter = namespace["letter"]
        try:
            for call in range(5):
                namespace["user_id"] = f"lambda_{call}"
                namespace["handler"]({"call": call}, None)
                assert len(proxy.log) == call + 1  # one request per call, already answered
                assert [i["user_id"] for i in proxy.log[-1].request["batch"]] == [f"lambda_{call}"]
                events = project.get("/events", name="Checkout Started")["data"]
                assert len(events) == call + 1
        finally:
            letter.close()
    assert {e.user_agent for e in proxy.log} == {f"letterapp-python/{_version()}"}
    assert sorted(e["external_user_id"] for e in project.all("/events")) == [
        f"lambda_{c}" for c in range(5)]


def _version() -> str:
    from letterapp import __version__

    return __version__


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_nothing_lost_at_interpreter_exit(project: Project, tmp_path: Path, ending: str
                                          ) -> None:
    n = 1000  # 2,000 items, never flushed nor closed by the script
    done = project.run_script(EXIT_SCRIPT.format(n=n, ending=ENDINGS[ending]), tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    contacts = project.all("/contacts")
    assert sorted(c["external_id"] for c in contacts) == sorted(f"exit_{i}" for i in range(n))
    assert all(c["traits"] == {"i": int(c["external_id"][5:])} for c in contacts)
    events = project.all("/events")
    assert sorted(e["properties"]["i"] for e in events) == list(range(n))


def _forwarded(proxy: FaultProxy, field: str) -> int:
    return sum(e.response[field] for e in proxy.log if e.response is not None)


def test_retries_ride_out_503_429_and_a_lost_response(project: Project) -> None:
    plan = [
        Fault.status_of(503, "unavailable"),
        Fault.status_of(503, "unavailable"),
        Fault.status_of(429, "rate_limited", {"Retry-After": "1"}),
        Fault.drop(),  # the server applies the batch; the SDK never hears back
    ]
    n = 30
    errors = Errors()
    with FaultProxy(*project.server.address, plan) as proxy:
        letter = Letter(api_key=project.key, base_url=proxy.url, max_retries=5,
                        flush_at=100, on_error=errors)
        for i in range(n):
            letter.identify(f"r_{i}", email=f"r{i}@example.com", traits={"i": i})
            letter.track(f"r_{i}", "Retried", properties={"i": i})
        assert letter.close(timeout=30)
    assert errors.calls == []
    actions = proxy.actions()
    assert actions[:4] == ["503", "503", "429", "drop"] and set(actions[4:]) == {"pass"}
    # Every attempt carried the same batch (same message ids) ...
    first_ids = [item["message_id"] for item in proxy.log[0].request["batch"]]
    assert len(first_ids) == 2 * n
    assert all([i["message_id"] for i in e.request["batch"]] == first_ids for e in proxy.log[:5])
    # ... Retry-After was honoured, and the retry of the lost answer was all duplicates.
    assert proxy.log[3].at - proxy.log[2].at >= 0.95
    dropped, retried = proxy.log[3].response, proxy.log[4].response
    assert dropped == {"accepted": 2 * n, "duplicates": 0, "rejected": []}
    assert retried == {"accepted": 0, "duplicates": 2 * n, "rejected": []}
    assert _forwarded(proxy, "accepted") == 2 * n
    # Each item landed exactly once.
    assert sorted(c["external_id"] for c in project.all("/contacts")) == sorted(
        f"r_{i}" for i in range(n))
    assert sorted(e["properties"]["i"] for e in project.all("/events")) == list(range(n))


def test_400_is_not_retried_and_exhausted_retries_reach_on_error(project: Project) -> None:
    errors = Errors()
    host, port = project.server.address
    with FaultProxy(host, port, [Fault.status_of(400, "bad_request")]) as proxy:
        letter = Letter(api_key=project.key, base_url=proxy.url, max_retries=3, on_error=errors)
        for i in range(3):
            letter.identify(f"bad_{i}", traits={"i": i})
        assert letter.flush(timeout=30)
        assert proxy.actions() == ["400"]  # one request, no retry
        ((error, items),) = errors.calls
        assert (error.status, error.code) == (400, "bad_request")
        assert error.body == {"error": {"code": "bad_request", "message": "injected 400"}}
        assert [i["user_id"] for i in items] == ["bad_0", "bad_1", "bad_2"]
        assert all(i["message_id"] for i in items)

        # The client keeps working after a failed batch.
        letter.identify("good_0")
        assert letter.close(timeout=30)
        assert proxy.actions() == ["400", "pass"] and len(errors.calls) == 1

    # A real 401 from the server (well-formed, unknown key): not retried either.
    with FaultProxy(host, port) as proxy:
        unknown = Errors()
        with Letter(api_key="lt_live_" + "0" * 48, base_url=proxy.url, on_error=unknown) as bad:
            bad.track("someone", "Nothing")
        assert proxy.actions() == ["pass"] and proxy.log[0].status == 401
        ((error, items),) = unknown.calls
        assert (error.status, error.code) == (401, "unauthorized")

    # 503 after every retry: handed to on_error once, after max_retries + 1 attempts.
    plan = [Fault.status_of(503, "unavailable")] * 2
    with FaultProxy(host, port, plan) as proxy:
        exhausted = Errors()
        with Letter(api_key=project.key, base_url=proxy.url, max_retries=1,
                    on_error=exhausted) as letter:
            letter.identify("lost_0")
        assert proxy.actions() == ["503", "503"]
        ((error, items),) = exhausted.calls
        assert (error.status, error.code, items[0]["user_id"]) == (503, "unavailable", "lost_0")

    assert [c["external_id"] for c in project.all("/contacts")] == ["good_0"]


def test_import_example_resumes_after_sigkill(project: Project, tmp_path: Path) -> None:
    rows, page = 300, 25
    source, checkpoint = tmp_path / "users.db", tmp_path / "checkpoint.json"
    made = subprocess.run([sys.executable, str(EXAMPLES / "make_source.py"), "--rows", str(rows),
                           str(source)], capture_output=True, text=True, timeout=60, check=False)
    assert made.returncode == 0, made.stderr
    command = [sys.executable, str(EXAMPLES / "import_users.py"), "--source", str(source),
               "--page-size", str(page), "--checkpoint", str(checkpoint)]
    host, port = project.server.address

    # Run 1: three pages go through; the fourth reaches the server but its answer
    # never comes back. Once the checkpoint is at page 3, SIGKILL.
    plan = [Fault.passing()] * 3 + [Fault.hold()]
    with FaultProxy(host, port, plan) as proxy:
        first = subprocess.Popen(command, env=project.script_env(proxy.url),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proxy.held.wait(30), "the fourth page was never sent"
            state = json.loads(checkpoint.read_text())
            first.send_signal(signal.SIGKILL)
            out, _ = first.communicate(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
    assert first.returncode == -signal.SIGKILL
    assert (state["cursor"], state["processed"]) == ("usr_000075", 75)
    assert out.split("\n")[:3] == ["imported 25", "imported 50", "imported 75"]
    assert len(project.all("/contacts")) == 100  # page 4 landed; its answer was lost

    # Run 2 resumes after the checkpoint: page 4 again (all duplicates), then the rest.
    with FaultProxy(host, port) as proxy:
        second = subprocess.run(command, env=project.script_env(proxy.url), capture_output=True,
                                text=True, timeout=120, check=False)
    assert second.returncode == 0, second.stderr
    lines = second.stdout.splitlines()
    assert lines[0] == "resuming after id usr_000075 (75 already imported)"
    assert lines[1:-1] == [f"imported {k}" for k in range(100, rows + 1, page)]
    assert lines[-1] == f"done. {rows} contacts processed."
    sent = [item["user_id"] for e in proxy.log for item in e.request["batch"]]
    assert min(sent) == "usr_000076"  # nothing before the checkpoint was sent again
    assert proxy.log[0].response is not None and proxy.log[0].response["accepted"] == 0
    assert all(e.request["skip_triggers"] is True for e in proxy.log)

    want_contacts, want_accounts = source_state(source)
    accounts = project.all("/accounts")
    by_uuid = {a["id"]: a["external_id"] for a in accounts}
    assert {a["external_id"]: {"name": a["name"], "traits": a["traits"]} for a in accounts} == {
        ws: {"name": a["name"], "traits": {"mrr": float(a["traits"]["mrr"])}}
        for ws, a in want_accounts.items()}
    got = {c["external_id"]: {"email": c["email"], "traits": c["traits"],
                              "account": by_uuid.get(c["account_id"])}
           for c in project.all("/contacts")}
    assert got == want_contacts
    assert len(got) == rows
