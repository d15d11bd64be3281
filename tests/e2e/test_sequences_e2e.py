"""Sequences against a real ``letter serve`` and a real SMTP server, on
both databases: the welcome email arrives, a real one-minute wait and a
wait_event's timeout resume, a wait_event's event resumes at once,
``exitOn`` removes a contact mid-wait and ``skip_triggers`` enrols no one."""

from __future__ import annotations

import email as email_parser
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LiveServer, start_server, stop_server
from tests.sequences.conftest import chain, edge, email, node
from tests.servers import SmtpServer

MINUTE = {"value": 1, "unit": "minutes"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(tmp_path: Path, fresh_database_url: str, smtp: SmtpServer) -> Iterator[LiveServer]:
    live = start_server(tmp_path / "data", fresh_database_url,
                        {"LETTER_EMAIL_TRANSPORT": "smtp", "LETTER_SMTP_URL": smtp.url})
    try:
        yield live
    finally:
        stop_server(live)


def inbox(smtp: SmtpServer) -> list[tuple[str, str]]:
    return sorted((m.rcpt_tos[0].split("@")[0],
                   str(email_parser.message_from_bytes(m.data)["Subject"]))
                  for m in smtp.messages)


def wait_for(smtp: SmtpServer, wanted: set[tuple[str, str]], timeout: float) -> float:
    """Seconds until every wanted email arrived."""
    started = time.monotonic()
    while not wanted <= set(inbox(smtp)):
        assert time.monotonic() - started < timeout, (inbox(smtp), wanted)
        time.sleep(0.05)
    return time.monotonic() - started


def publish(http: httpx.Client, graph: dict[str, Any], trigger: dict[str, Any]) -> str:
    sid = http.post("/v1/projects/acme/sequences", json={"name": "F"}).json()["id"]
    saved = http.put(f"/v1/projects/acme/sequences/{sid}/draft",
                     json={"graph": graph, "trigger": trigger, "expected_revision": 0})
    assert saved.status_code == 200, saved.text
    published = http.post(f"/v1/projects/acme/sequences/{sid}/publish")
    assert published.status_code == 201, published.text
    return sid


def test_sequences_run_end_to_end(server: LiveServer, smtp: SmtpServer) -> None:
    boot = server.bootstrap()
    pat = {"Authorization": f"Bearer {boot['token']}"}
    with httpx.Client(base_url=server.base_url, headers=pat, timeout=10) as http:
        assert http.post("/v1/projects", json={"name": "Acme"}).status_code == 201
        key = http.post("/v1/projects/acme/keys", json={}).json()["key"]
        publish(http, chain(node("t", "trigger"), email("w", "Welcome {{ contact.traits.name }}"),
                            node("wait", "wait", duration=MINUTE),
                            email("later", "A minute later")),
                {"type": "event", "eventName": "Signed Up", "exitOn": {"eventName": "Upgraded"}})
        publish(http, {"nodes": [node("t", "trigger"),
                                 node("we", "wait_event", eventName="Checked Out",
                                      timeout=MINUTE, match={"property": "cart_id"}),
                                 email("thanks", "Thanks for {{ event.properties.cart_id }}"),
                                 email("cart", "Forgot cart {{ event.properties.cart_id }}?")],
                       "edges": [edge("t", "we"), edge("we", "thanks", "received"),
                                 edge("we", "cart", "timeout")]},
                {"type": "event", "eventName": "Cart Updated"})
    ingest = httpx.Client(base_url=server.base_url, timeout=10,
                          headers={"Authorization": f"Bearer {key}"})

    def batch(*items: dict[str, Any], skip: bool = False) -> None:
        done = ingest.post("/v1/batch", json={"batch": list(items), "skip_triggers": skip})
        assert done.status_code == 200 and not done.json()["rejected"], done.text

    users = ("ada", "bob", "cy", "dan")
    batch(*({"type": "identify", "user_id": u, "email": f"{u}@example.com",
             "traits": {"name": u.title()}} for u in users))
    batch({"type": "track", "user_id": "ada", "event": "Signed Up"},
          {"type": "track", "user_id": "dan", "event": "Signed Up"},
          {"type": "track", "user_id": "bob", "event": "Cart Updated",
           "properties": {"cart_id": "b1"}},
          {"type": "track", "user_id": "cy", "event": "Cart Updated",
           "properties": {"cart_id": "c1"}})
    batch({"type": "track", "user_id": "cy", "event": "Signed Up"}, skip=True)
    wait_for(smtp, {("ada", "Welcome Ada"), ("dan", "Welcome Dan")}, 15)
    batch({"type": "track", "user_id": "dan", "event": "Upgraded"})
    batch({"type": "track", "user_id": "bob", "event": "Checked Out",
           "properties": {"cart_id": "other"}})
    time.sleep(1)  # let the engine reach the wait_event node
    batch({"type": "track", "user_id": "bob", "event": "Checked Out",
           "properties": {"cart_id": "b1"}})
    resumed = wait_for(smtp, {("bob", "Thanks for b1")}, 10)
    assert resumed < 5
    # The real minute: the wait resumes, and the wait_event times out.
    wait_for(smtp, {("ada", "A minute later"), ("cy", "Forgot cart c1?")}, 90)
    time.sleep(1.5)
    assert inbox(smtp) == sorted([
        ("ada", "Welcome Ada"), ("ada", "A minute later"), ("dan", "Welcome Dan"),
        ("bob", "Thanks for b1"), ("cy", "Forgot cart c1?")])
    ingest.close()


def test_branch_versions_once_per_contact_and_archiving(server: LiveServer,
                                                        smtp: SmtpServer) -> None:
    boot = server.bootstrap()
    http = httpx.Client(base_url=server.base_url, timeout=10,
                        headers={"Authorization": f"Bearer {boot['token']}"})
    assert http.post("/v1/projects", json={"name": "Acme"}).status_code == 201
    key = http.post("/v1/projects/acme/keys", json={}).json()["key"]
    ingest = httpx.Client(base_url=server.base_url, timeout=10,
                          headers={"Authorization": f"Bearer {key}"})

    def graph(version: str) -> dict[str, Any]:
        day = {"value": 1, "unit": "days"}
        return {"nodes": [node("t", "trigger"),
                          node("b", "branch", condition={"kind": "trait", "path": "plan",
                                                         "op": "eq", "value": "pro"}),
                          email("pro", f"Pro {version}"), email("free", f"Free {version}"),
                          node("w1", "wait", duration=day), node("w2", "wait", duration=day)],
                "edges": [edge("t", "b"), edge("b", "pro", "yes"), edge("b", "free", "no"),
                          edge("pro", "w1"), edge("free", "w2")]}

    trigger = {"type": "event", "eventName": "Signed Up", "oncePerContact": True}
    sid = publish(http, graph("v1"), trigger)
    base = f"/v1/projects/acme/sequences/{sid}"

    def sign_up(user: str, plan: str) -> None:
        done = ingest.post("/v1/batch", json={"batch": [
            {"type": "identify", "user_id": user, "email": f"{user}@example.com",
             "traits": {"plan": plan}},
            {"type": "track", "user_id": user, "event": "Signed Up"}]})
        assert done.status_code == 200 and not done.json()["rejected"]

    sign_up("ada", "pro")
    sign_up("bob", "free")
    wait_for(smtp, {("ada", "Pro v1"), ("bob", "Free v1")}, 15)
    revision = http.get(base).json()["draft_revision"]
    assert http.put(f"{base}/draft", json={"graph": graph("v2"), "trigger": trigger,
                                           "expected_revision": revision}).status_code == 200
    assert http.post(f"{base}/publish").json() == {"version_number": 2}
    sign_up("cal", "pro")
    wait_for(smtp, {("cal", "Pro v2")}, 15)
    sign_up("ada", "pro")  # oncePerContact: not again, even after an exit
    assert http.post(f"{base}/enrollments/ada/exit").json()["state"] == "exited"
    sign_up("ada", "pro")
    activity = http.get(f"{base}/activity").json()
    versions = {e["external_id"]: (e["version_number"], e["node_id"], e["state"])
                for e in activity["enrollments"]}
    assert versions == {"ada": (1, "w1", "exited"), "bob": (1, "w2", "waiting"),
                        "cal": (2, "w1", "waiting")}
    assert http.patch(base, json={"status": "archived"}).json()["status"] == "archived"
    sign_up("dan", "free")
    counts = http.get(f"{base}/activity").json()["counts"]
    assert counts["exited"] == 3 and counts["waiting"] == counts["active"] == 0
    time.sleep(1.5)
    assert inbox(smtp) == sorted([("ada", "Pro v1"), ("bob", "Free v1"), ("cal", "Pro v2")])
    http.close()
    ingest.close()
