"""After the faults: wait until the work settles, then compare what the
clients were told with what the database holds and what the SMTP server got."""

from __future__ import annotations

import email as email_parser
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from letter.broadcasts.models import Broadcast
from letter.contacts.models import Contact, Event
from letter.db.engine import Database
from letter.delivery.models import Message
from letter.sequences.models import RUNNING, Enrollment
from tests.reliability.chaos.load import WELCOME, Ledger
from tests.servers import SmtpServer

UNFINISHED = ("queued", "sending")


@dataclass
class Facts:
    """The state of the world once it settled."""

    events: Counter[str]  # tag -> stored events carrying it
    contacts: set[str]  # external ids
    enrolments: Counter[str]  # state -> count
    messages: Counter[str]  # state -> count
    broadcast_status: str | None
    inbox: Counter[tuple[str, str]]  # (recipient, subject) -> copies received
    settled_after: float


def _unfinished(db: Database) -> tuple[int, int, str | None]:
    with db.session() as session:
        messages = session.scalar(select(func.count()).select_from(Message)
                                  .where(Message.state.in_(UNFINISHED))) or 0
        enrolments = session.scalar(select(func.count()).select_from(Enrollment)
                                    .where(Enrollment.state.in_(RUNNING))) or 0
        status = session.scalar(select(Broadcast.status))
    return messages, enrolments, status


def settle(db: Database, timeout: float) -> float:
    """Seconds until no message is queued or sending, no enrolment is
    running and the broadcast is sent (or ``timeout``, and the checks say why)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            messages, enrolments, status = _unfinished(db)
        except Exception:  # the database may still be coming back
            time.sleep(0.5)
            continue
        if messages == 0 and enrolments == 0 and status == "sent":
            break
        time.sleep(0.5)
    return time.monotonic() - started


def gather(db: Database, smtp: SmtpServer, settled_after: float) -> Facts:
    with db.session() as session:
        tags = session.scalars(select(Event.properties)).all()
        contacts = set(session.scalars(select(Contact.external_id)))
        enrolments = Counter(dict(session.execute(
            select(Enrollment.state, func.count()).group_by(Enrollment.state)).all()))
        messages = Counter(dict(session.execute(
            select(Message.state, func.count()).group_by(Message.state)).all()))
        status = session.scalar(select(Broadcast.status))
    inbox: Counter[tuple[str, str]] = Counter()
    for received in list(smtp.messages):
        subject = str(email_parser.message_from_bytes(received.data)["Subject"])
        for rcpt in received.rcpt_tos:
            inbox[(rcpt, subject)] += 1
    return Facts(Counter(str(p["tag"]) for p in tags if isinstance(p, dict) and "tag" in p),
                 {c for c in contacts if c}, enrolments, messages, status, inbox,
                 settled_after)


def check_ingestion(ledger: Ledger, facts: Facts) -> dict[str, Any]:
    lost = sorted(tag for tag in ledger.events if facts.events[tag] == 0)
    twice = sorted(tag for tag, n in facts.events.items() if n > 1)
    missing_users = sorted(ledger.users - facts.contacts)
    problems = []
    if lost:
        problems.append(f"{len(lost)} acknowledged events not stored: {lost[:5]}")
    if twice:
        problems.append(f"{len(twice)} events stored more than once: {twice[:5]}")
    if missing_users:
        problems.append(f"{len(missing_users)} identified users missing: {missing_users[:5]}")
    return {"events acknowledged": len(ledger.events), "events lost": len(lost),
            "events stored twice": len(twice), "contacts acknowledged": len(ledger.users),
            "contacts lost": len(missing_users), "problems": problems}


def check_broadcast(recipients: set[str], facts: Facts, allowed_twice: int) -> dict[str, Any]:
    got = Counter({rcpt: n for (rcpt, subject), n in facts.inbox.items()
                   if subject == "Chaos news"})
    missing = sorted(recipients - set(got))
    twice = sum(n - 1 for n in got.values())
    problems = []
    if facts.broadcast_status != "sent":
        problems.append(f"broadcast is {facts.broadcast_status}, not sent")
    if missing:
        problems.append(f"{len(missing)} broadcast recipients got nothing: {missing[:5]}")
    if set(got) - recipients:
        problems.append(f"broadcast reached non-members: {sorted(set(got) - recipients)[:5]}")
    if twice > allowed_twice or (got and max(got.values()) > 2):
        problems.append(f"{twice} broadcast duplicates, more than the in-flight window "
                        f"({allowed_twice})")
    return {"broadcast recipients": len(recipients), "broadcast received": len(got),
            "broadcast in-flight duplicates": twice, "problems": problems}


def check_sequence(ledger: Ledger, facts: Facts, allowed_twice: int) -> dict[str, Any]:
    welcomed = Counter({rcpt: n for (rcpt, subject), n in facts.inbox.items()
                        if subject == WELCOME})
    expected = {f"{user}@load.test" for user in ledger.signed_up}
    missing = sorted(expected - set(welcomed))
    twice = sum(n - 1 for n in welcomed.values())
    stuck = sum(facts.enrolments[state] for state in RUNNING)
    problems = []
    if stuck:
        problems.append(f"{stuck} enrolments still running: {dict(facts.enrolments)}")
    if facts.enrolments["completed"] < len(expected):
        problems.append(f"{facts.enrolments['completed']} enrolments completed for "
                        f"{len(expected)} sign-ups")
    if missing:
        problems.append(f"{len(missing)} sign-ups got no welcome email: {missing[:5]}")
    if twice > allowed_twice:
        problems.append(f"{twice} welcome duplicates, more than the in-flight window")
    return {"enrolments": dict(facts.enrolments), "welcome emails": len(welcomed),
            "sequence in-flight duplicates": twice, "problems": problems}


def check_errors(ledger: Ledger, db_windows: list[tuple[float, float]]) -> dict[str, Any]:
    """5xx answers are allowed only while the database restarts (and the
    clients retried them); any other is a failure."""
    inside = [e for e in ledger.server_errors
              if any(start <= e[0] <= end for start, end in db_windows)]
    outside = [e for e in ledger.server_errors if e not in inside]
    problems = []
    if outside:
        problems.append(f"{len(outside)} server errors outside the database restart: "
                        f"{outside[:5]}")
    if ledger.client_errors:
        problems.append(f"{len(ledger.client_errors)} refused requests: "
                        f"{ledger.client_errors[:3]}")
    if ledger.gave_up:
        problems.append(f"{ledger.gave_up} requests never acknowledged")
    return {"5xx during database restart (retried)": len(inside),
            "5xx otherwise": len(outside),
            "transport errors (retried)": len(ledger.transport_errors),
            "problems": problems}
