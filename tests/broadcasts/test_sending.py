"""Sending a broadcast through the outbox to a real SMTP server: exactly the
audience, suppressed contacts recorded and never sent, pause, resume, cancel,
the daily cap, 4xx retries, transactional mail first, live stats equal to
the outbox — on both databases."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from letter.broadcasts.models import Broadcast
from letter.broadcasts.snapshot import write_chunk
from letter.clock import utcnow
from letter.delivery import service as delivery
from letter.delivery.models import Message
from letter.projects.models import Project
from tests.broadcasts.support import (
    DOC,
    drain_all,
    outbox_states,
    recipients,
    run_broadcast_jobs,
    settle_now,
    start_broadcast,
)

PAID = {"kind": "inline", "filter": {"kind": "trait", "path": "plan", "op": "eq",
                                     "value": "paid"}}


def people(make_contact, n: int, plan: str = "paid", prefix: str = "p") -> list[str]:
    emails = [f"{prefix}{i}@example.com" for i in range(n)]
    for i, address in enumerate(emails):
        make_contact(address, traits={"plan": plan}, external_id=f"{prefix}{i}")
    return emails


def live(api, owner, slug, b) -> dict:
    response = api.get(f"/v1/projects/{slug}/broadcasts/{b['id']}/live", headers=owner.headers)
    assert response.status_code == 200, response.text
    return response.json()


def assert_stats_match_outbox(api, owner, slug, b, db) -> dict:
    stats = live(api, owner, slug, b)["stats"]
    truth = outbox_states(db, b["id"])
    unsettled = truth["queued"] + truth["held"] + truth["sending"]
    assert stats["queued"] == unsettled, (stats, truth)
    for state in ("sent", "suppressed", "failed", "cancelled"):
        assert stats[state] == truth[state], (state, stats, truth)
    return stats


def test_a_segment_broadcast_reaches_exactly_its_members(api, owner, project_row, make_contact,
                                                         runtime, smtp, db):
    slug = project_row.slug
    members = people(make_contact, 5)
    people(make_contact, 3, plan="free", prefix="f")
    make_contact("gone@example.com", traits={"plan": "paid"}, external_id="gone")
    assert api.post(f"/v1/projects/{slug}/contacts/gone/suppress",
                    headers=owner.headers).status_code == 204
    seg = api.post(f"/v1/projects/{slug}/segments", headers=owner.headers,
                   json={"name": "Paid", "filter": PAID["filter"]}).json()
    b = start_broadcast(api, owner, slug, {"kind": "segment", "segmentId": seg["id"]})
    assert run_broadcast_jobs(runtime) == 1
    assert live(api, owner, slug, b)["status"] == "sending"
    drain_all(runtime)
    assert recipients(smtp) == Counter(members)
    assert outbox_states(db, b["id"]) == Counter({"sent": 5, "suppressed": 1})
    settle_now(db)
    state = live(api, owner, slug, b)
    assert state["status"] == "sent" and state["completed_at"]
    stats = assert_stats_match_outbox(api, owner, slug, b, db)
    assert (stats["sent"], stats["suppressed"], stats["queued"]) == (5, 1, 0)
    assert {a["contact_email"] for a in state["activity"]} == set(members) | {"gone@example.com"}
    subjects = {m.data.split(b"Subject: ")[1].split(b"\r\n")[0] for m in smtp.messages}
    assert b"News for p0@example.com" in subjects


def test_the_snapshot_resumes_from_its_position_and_never_writes_twice(
        api, owner, project_row, make_contact, runtime, db):
    people(make_contact, 7)
    b = start_broadcast(api, owner, project_row.slug, PAID)
    bid = uuid.UUID(b["id"])
    with db.session() as session:
        session.get_one(Broadcast, bid).status = "sending"
    with pytest.raises(RuntimeError), db.session() as session:  # a crash mid-chunk
        write_chunk(session, bid, "letter.localhost", utcnow(), chunk=3)
        raise RuntimeError("killed")
    assert sum(outbox_states(db, b["id"]).values()) == 0
    more = True
    while more:
        with db.session() as session:
            more = write_chunk(session, bid, "letter.localhost", utcnow(), chunk=3)
    assert outbox_states(db, b["id"]) == Counter({"queued": 7})
    with db.session() as session:
        assert not write_chunk(session, bid, "letter.localhost", utcnow(), chunk=3)
        broadcast = session.get_one(Broadcast, bid)
        assert broadcast.recipients == 7 and broadcast.snapshot_done
        broadcast.snapshot_done, broadcast.snapshot_after = False, None  # lose the position
    with pytest.raises(IntegrityError), db.session() as session:
        write_chunk(session, bid, "letter.localhost", utcnow(), chunk=3)
    assert outbox_states(db, b["id"]) == Counter({"queued": 7})


def test_pause_holds_and_resume_sends_each_recipient_once(api, owner, project_row, make_contact,
                                                          runtime, smtp, db):
    slug = project_row.slug
    members = people(make_contact, 6)
    b = start_broadcast(api, owner, slug, PAID)
    run_broadcast_jobs(runtime)
    from letter.worker.outbox import drain_outbox
    assert drain_outbox(runtime, limit=2) == 2
    paused = api.post(f"/v1/projects/{slug}/broadcasts/{b['id']}/pause", headers=owner.headers)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert drain_all(runtime) == 0
    assert len(smtp.messages) == 2
    assert outbox_states(db, b["id"]) == Counter({"sent": 2, "held": 4})
    settle_now(db)
    assert live(api, owner, slug, b)["status"] == "paused"
    assert_stats_match_outbox(api, owner, slug, b, db)
    resumed = api.post(f"/v1/projects/{slug}/broadcasts/{b['id']}/resume", headers=owner.headers)
    assert resumed.json()["status"] == "sending"
    drain_all(runtime)
    assert recipients(smtp) == Counter(members)
    settle_now(db)
    assert live(api, owner, slug, b)["status"] == "sent"
    assert_stats_match_outbox(api, owner, slug, b, db)


def test_cancel_mid_flight_stops_the_rest(api, owner, project_row, make_contact, runtime, smtp,
                                          db):
    slug = project_row.slug
    people(make_contact, 5)
    b = start_broadcast(api, owner, slug, PAID)
    run_broadcast_jobs(runtime)
    from letter.worker.outbox import drain_outbox
    drain_outbox(runtime, limit=2)
    cancelled = api.post(f"/v1/projects/{slug}/broadcasts/{b['id']}/cancel",
                         headers=owner.headers).json()
    assert cancelled["status"] == "cancelled"
    assert drain_all(runtime) == 0
    assert len(smtp.messages) == 2
    assert outbox_states(db, b["id"]) == Counter({"sent": 2, "cancelled": 3})
    stats = assert_stats_match_outbox(api, owner, slug, b, db)
    assert stats["cancelled"] == 3
    assert live(api, owner, slug, b)["cancelled_at"]


def test_4xx_replies_are_retried_then_delivered(api, owner, project_row, make_contact, runtime,
                                                smtp, db):
    slug = project_row.slug
    make_contact("slow@example.com", traits={"plan": "paid"})
    refused: list[str] = []
    accept = smtp.handler.handle_RCPT

    async def throttle_once(server, session, envelope, address, options):
        if address not in refused:
            refused.append(address)
            return "454 4.7.0 temporary throttling"
        return await accept(server, session, envelope, address, options)

    smtp.handler.handle_RCPT = throttle_once  # type: ignore[method-assign]
    b = start_broadcast(api, owner, slug, PAID)
    run_broadcast_jobs(runtime)
    drain_all(runtime)
    assert outbox_states(db, b["id"]) == Counter({"queued": 1})
    assert live(api, owner, slug, b)["stats"]["failed"] == 0
    drain_all(runtime, now=utcnow() + timedelta(minutes=5))
    assert recipients(smtp) == Counter(["slow@example.com"])
    assert outbox_states(db, b["id"]) == Counter({"sent": 1})
    assert_stats_match_outbox(api, owner, slug, b, db)


def test_transactional_mail_goes_ahead_and_the_cap_defers(api, owner, project_row,
                                                          make_contact, runtime, smtp, db):
    slug = project_row.slug
    people(make_contact, 4)
    with db.session() as session:
        session.get_one(Project, project_row.id).daily_send_cap = 2
    b = start_broadcast(api, owner, slug, PAID)
    run_broadcast_jobs(runtime)
    receipt = make_contact("buyer@example.com", external_id="buyer")
    with db.session() as session:
        project = session.get_one(Project, project_row.id)
        delivery.queue_message(session, project, receipt, kind="transactional",
                               subject="Receipt", body_doc=DOC, sending_domain="letter.localhost")
    from letter.worker.outbox import drain_outbox
    drain_outbox(runtime, limit=1)
    assert recipients(smtp) == Counter(["buyer@example.com"])
    drain_all(runtime)
    assert outbox_states(db, b["id"]) == Counter({"sent": 1, "queued": 3})
    with db.session() as session:
        reasons = set(session.scalars(select(Message.reason).where(
            Message.broadcast_id == uuid.UUID(b["id"]), Message.state == "queued")))
    assert reasons == {"daily send cap reached"}
    drain_all(runtime, now=utcnow() + timedelta(days=1, hours=1))
    assert outbox_states(db, b["id"]) == Counter({"sent": 3, "queued": 1})


def test_recipients_rows_hold_no_copy_of_the_body_yet_every_email_and_message_has_it(
        api, owner, project_row, make_contact, runtime, smtp, db):
    slug = project_row.slug
    make_contact("ada@example.com", traits={"plan": "paid", "name": "Ada"}, external_id="ada")
    b = start_broadcast(api, owner, slug, PAID)
    assert run_broadcast_jobs(runtime) == 1
    with db.session() as session:
        [(message_id, stored)] = session.execute(select(Message.id, Message.body_doc).where(
            Message.broadcast_id == uuid.UUID(b["id"]))).all()
    assert stored is None
    drain_all(runtime)
    [sent] = smtp.messages
    assert b"Hello Ada" in sent.data
    detail = api.get(f"/v1/projects/{slug}/messages/{message_id}", headers=owner.headers)
    assert detail.status_code == 200 and detail.json()["body_doc"] == DOC
