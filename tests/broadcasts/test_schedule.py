"""When a broadcast goes: at its scheduled time, at a wall-clock time in each
contact's zone (with an injected clock), or held paused when its time passed
too long ago while Letter was down."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from letter.broadcasts.models import Broadcast
from letter.broadcasts.sending import start
from letter.broadcasts.snapshot import write_chunk
from letter.contacts.models import Contact
from letter.delivery.models import Message
from tests.broadcasts.support import (
    drain_all,
    outbox_states,
    recipients,
    run_broadcast_jobs,
    start_broadcast,
)

EVERYONE = {"kind": "inline", "filter": {"kind": "group", "op": "and", "children": []}}
HOUR = timedelta(hours=1)


def test_a_scheduled_broadcast_waits_for_its_time(api, owner, project_row, make_contact,
                                                  runtime, smtp, db):
    make_contact("a@example.com")
    # Far enough ahead that a loaded machine still checks "not yet" before it.
    at = datetime.now(UTC) + timedelta(seconds=6)
    b = start_broadcast(api, owner, project_row.slug, EVERYONE, scheduled_at=at.isoformat())
    assert run_broadcast_jobs(runtime) == 0
    assert datetime.now(UTC) < at, "the machine was too slow to check before the time"
    drain_all(runtime)
    assert sum(outbox_states(db, b["id"]).values()) == 0 and not smtp.messages
    while datetime.now(UTC) < at:
        time.sleep(0.05)
    assert run_broadcast_jobs(runtime) == 1
    drain_all(runtime)
    assert recipients(smtp) == Counter(["a@example.com"])


def test_local_time_sends_at_the_wall_clock_of_each_contacts_zone(
        api, owner, project_row, make_contact, runtime, smtp, db):
    zones = {"tokyo@example.com": "Asia/Tokyo", "ny@example.com": "America/New_York",
             "paris@example.com": "Europe/Paris", "nozone@example.com": None,
             "bad@example.com": "Mars/Olympus"}
    with db.session() as session:
        for address, zone in zones.items():
            session.add(Contact(project_id=project_row.id, email=address, traits={},
                                timezone=zone))
    wall = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=0, second=0,
                                                           microsecond=0, tzinfo=None)
    b = start_broadcast(api, owner, project_row.slug, EVERYONE,
                        scheduled_at=wall.isoformat() + "Z", local_time=True)
    assert b["local_time"] is True
    bid = uuid.UUID(b["id"])
    with db.session() as session:
        starts_at = session.get_one(Broadcast, bid).starts_at
    assert starts_at == wall.replace(tzinfo=UTC) - timedelta(hours=14)
    with db.session() as session:  # the job, run by a clock set to its start
        assert start(session, bid, starts_at, HOUR)
    with db.session() as session:
        write_chunk(session, bid, "letter.localhost", starts_at)

    def local(zone: str) -> datetime:
        return wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)

    with db.session() as session:
        due = {m.to_email: m.next_attempt_at for m in session.scalars(
            select(Message).where(Message.broadcast_id == bid))}
    assert due == {"tokyo@example.com": local("Asia/Tokyo"),
                   "ny@example.com": local("America/New_York"),
                   "paris@example.com": local("Europe/Paris"),
                   "nozone@example.com": local("Europe/Paris"),  # the project's zone
                   "bad@example.com": local("Europe/Paris")}
    drain_all(runtime, now=local("Asia/Tokyo") - timedelta(minutes=1))
    assert not smtp.messages
    drain_all(runtime, now=local("Asia/Tokyo"))
    assert recipients(smtp) == Counter(["tokyo@example.com"])
    drain_all(runtime, now=local("Europe/Paris"))
    assert set(recipients(smtp)) == {"tokyo@example.com", "paris@example.com",
                                     "nozone@example.com", "bad@example.com"}
    drain_all(runtime, now=local("America/New_York"))
    assert recipients(smtp) == Counter(list(zones))


def test_a_broadcast_overdue_past_the_lateness_limit_is_held_paused(
        api, owner, project_row, make_contact, runtime, smtp, db):
    make_contact("a@example.com")
    at = datetime.now(UTC) + timedelta(minutes=10)
    b = start_broadcast(api, owner, project_row.slug, EVERYONE, scheduled_at=at.isoformat())
    bid = uuid.UUID(b["id"])
    with db.session() as session:  # Letter comes back two hours late
        assert not start(session, bid, at + 2 * HOUR, HOUR)
    url = f"/v1/projects/{project_row.slug}/broadcasts/{b['id']}"
    state = api.get(f"{url}/live", headers=owner.headers).json()
    assert state["status"] == "paused" and "120 minutes" in state["paused_reason"]
    assert sum(outbox_states(db, b["id"]).values()) == 0
    with db.session() as session:  # within the limit it starts
        session.get_one(Broadcast, bid).status = "scheduled"
    with db.session() as session:
        assert start(session, bid, at + 30 * timedelta(minutes=1), HOUR)
    with db.session() as session:
        broadcast = session.get_one(Broadcast, bid)
        broadcast.status, broadcast.started_at = "paused", None
    resumed = api.post(f"{url}/resume", headers=owner.headers).json()
    assert resumed["status"] == "sending" and resumed["paused_reason"] is None
    run_broadcast_jobs(runtime)
    drain_all(runtime)
    assert recipients(smtp) == Counter(["a@example.com"])


def test_local_time_in_the_past_everywhere_is_refused(api, owner, project_row, make_contact):
    make_contact("a@example.com")
    base = f"/v1/projects/{project_row.slug}/broadcasts"
    b = api.post(base, headers=owner.headers, json={
        "subject": "Hi", "body_doc": {"type": "doc", "content": [{"type": "paragraph"}]},
        "audience": EVERYONE}).json()
    long_ago = (datetime.now(UTC) - timedelta(days=1)).replace(tzinfo=None).isoformat()
    response = api.post(f"{base}/{b['id']}/schedule", headers=owner.headers,
                        json={"scheduled_at": long_ago + "Z", "local_time": True})
    assert response.status_code == 400, response.text
    assert api.get(f"{base}/{b['id']}", headers=owner.headers).json()["status"] == "draft"
