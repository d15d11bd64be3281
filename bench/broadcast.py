"""A broadcast to a large audience: the snapshot into the outbox, then the send.

Seeds a project sending from a verified DKIM domain with N contacts, then:

1. snapshot: a broadcast to everyone is scheduled and its audience written
   to the outbox by ``letter.broadcasts.snapshot.write_chunk`` (the code the
   ``broadcasts.send`` job runs), timed in this process: rows/s;
2. send: K ``letter worker`` processes deliver it (Liquid personalisation,
   the branded layout, DKIM) to an aiosmtpd server in its own process:
   emails/s;
3. baseline, in the same run: a second broadcast whose body is one fixed
   sentence (no Liquid, nothing to personalise), sent by the same workers to
   the same server: the transport's own ceiling; prints the ratio.

Targets (DESIGN.md §8): snapshot >= 50,000 rows/s; send >= 1,000 emails/s
with two workers on 2 cores.

Usage: python bench/broadcast.py [--contacts 100000] [--workers 2]
       [--database-url URL] [--pool 4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from machine import describe
from send import BODY, SMTP_SERVER, free_port, seed_contacts

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import func, select  # noqa: E402

from letter.broadcasts import service as broadcasts  # noqa: E402
from letter.broadcasts.models import Broadcast  # noqa: E402
from letter.broadcasts.sending import start  # noqa: E402
from letter.broadcasts.snapshot import write_chunk  # noqa: E402
from letter.clock import utcnow  # noqa: E402
from letter.db.engine import Database  # noqa: E402
from letter.db.migrate import upgrade  # noqa: E402
from letter.delivery.counters import read  # noqa: E402
from letter.delivery.models import Message  # noqa: E402
from letter.jobs.models import Job  # noqa: E402
from letter.settings import Settings  # noqa: E402

EVERYONE = {"kind": "inline", "filter": {"kind": "trait", "path": "email", "op": "exists"}}
PLAIN = {
    "type": "doc",
    "content": [
        {
            "type": "paragraph",
            "content": [{"type": "text", "text": "Our spring release is out: read what changed."}],
        }
    ],
}


def create(db: Database, project_id: Any, name: str, body: dict[str, Any]) -> uuid.UUID:
    with db.session() as session:
        broadcast = broadcasts.create_broadcast(
            session,
            project_id,
            from_email=None,
            name=name,
            subject=name + ", {{ contact.traits.name }}",
            audience=EVERYONE,
            body_doc=body,
        )
        # The workers must not start the snapshot: this process times it.
        broadcasts.schedule(session, project_id, broadcast.id, scheduled_at=None, local_time=False)
        session.execute(Job.__table__.delete().where(Job.kind == broadcasts.SEND_JOB))
        return broadcast.id


CPU: list[float] = []  # this process's CPU seconds for each snapshot


def snapshot(db: Database, broadcast_id: uuid.UUID, domain: str) -> float:
    """Seconds to write the whole audience to the outbox."""
    started, cpu = time.perf_counter(), time.process_time()
    with db.session() as session:
        go = start(session, broadcast_id, utcnow(), max_lateness=timedelta(hours=1))
    while go:
        with db.session() as session:
            go = write_chunk(session, broadcast_id, domain, utcnow())
    CPU.append(time.process_time() - cpu)
    return time.perf_counter() - started


def send(db: Database, broadcast_id: uuid.UUID, env: dict[str, str], workers: int) -> float:
    """Seconds for ``workers`` worker processes to send every message of the broadcast.

    Progress is read from the broadcast's counters (a COUNT over the outbox
    every tenth of a second would cost the database a core at 100 K rows);
    the outbox itself is checked once at the end."""
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "letter.cli.main", "worker"], env=env, stderr=subprocess.DEVNULL
        )
        for _ in range(workers)
    ]
    try:
        while True:
            with db.session() as session:
                project_id = session.get_one(Broadcast, broadcast_id).project_id
                if read(session, project_id, broadcast_id).get("queued", 0) <= 0:
                    return time.perf_counter() - started
            time.sleep(0.1)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()


def accepted_span(db: Database, broadcast_id: uuid.UUID, n: int) -> float:
    """Seconds from the first to the last acceptance; checks all ``n`` were sent."""
    with db.session() as session:
        first, last, sent = session.execute(
            select(func.min(Message.sent_at), func.max(Message.sent_at), func.count()).where(
                Message.broadcast_id == broadcast_id, Message.state == "sent"
            )
        ).one()
    assert sent == n, f"{sent} of {n} sent"
    return float((last - first).total_seconds())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--pool", type=int, default=4, help="SMTP connections per worker")
    parser.add_argument(
        "--snapshot-only", action="store_true", help="time three snapshots, send nothing"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="letter-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'letter.db'}"
    upgrade(url)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SMTP_SERVER, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
    smtp_url = f"smtp://127.0.0.1:{port}?pool={args.pool}"
    settings = replace(Settings.from_env({"LETTER_DATA_DIR": str(tmp)}), database_url=url)
    db = Database.from_url(url)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "LETTER_DATABASE_URL": url,
        "LETTER_DATA_DIR": str(tmp),
        "LETTER_SECRET_KEY": "bench",
        "LETTER_EMAIL_TRANSPORT": "smtp",
        "LETTER_SMTP_URL": smtp_url,
    }
    try:
        contacts = seed_contacts(db, args.contacts)
        project_id = contacts[0]["project_id"]
        n = len(contacts)
        personal = create(db, project_id, "Welcome", BODY)
        snap = snapshot(db, personal, settings.sending_domain)
        if args.snapshot_only:
            again = [
                snapshot(db, create(db, project_id, f"Again {i}", BODY), settings.sending_domain)
                for i in (1, 2)
            ]
            print(f"machine: {describe()}; load average now {os.getloadavg()[0]:.2f}")
            print(
                f"snapshots of {n:,} recipients: "
                + ", ".join(f"{n / s:,.0f}" for s in (snap, *again))
                + " rows/s (target >= 50,000); this process's CPU a row: "
                + ", ".join(f"{c / n * 1e6:.1f} us" for c in CPU)
                + (" (all of it on SQLite)" if url.startswith("sqlite") else " (not the server's)")
            )
            return
        sent = send(db, personal, env, args.workers)
        sent_span = accepted_span(db, personal, n)
        plain = create(db, project_id, "Release", PLAIN)
        snapshot(db, plain, settings.sending_domain)
        ceiling = send(db, plain, env, args.workers)
        ceiling_span = accepted_span(db, plain, n)
        backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print(f"machine: {describe()}")
        print(
            f"database: {backend}; {args.workers} `letter worker` processes; SMTP: aiosmtpd "
            f"in another process; load average now {os.getloadavg()[0]:.2f}"
        )
        print(
            f"snapshot of {n:,} recipients: {snap:.2f} s, {n / snap:,.0f} rows/s (target >= 50,000)"
        )
        print(
            f"send, personalised + branded + DKIM: {sent:.2f} s, {n / sent:,.0f} emails/s "
            "(target >= 1,000; includes the workers' start-up)"
        )
        print(
            f"send, one fixed sentence (transport ceiling): {ceiling:.2f} s, "
            f"{n / ceiling:,.0f} emails/s; ratio {ceiling / sent:.2f}"
        )
        print(
            f"first to last acceptance (without the workers' start-up): personalised "
            f"{n / sent_span:,.0f} emails/s, fixed sentence {n / ceiling_span:,.0f} emails/s; "
            f"ratio {ceiling_span / sent_span:.2f}"
        )
    finally:
        server.communicate(b"", timeout=10)


if __name__ == "__main__":
    main()
