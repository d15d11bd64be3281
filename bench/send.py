"""Delivery throughput: render + DKIM-sign + hand to an SMTP server in another process.

N messages are queued to N distinct contacts with a personalised template (the
project's branded layout, Liquid over contact traits), DKIM on (the project
sends from a verified custom domain), then drained by the outbox worker code
(``letter.delivery.drain``, in-process by default or ``--workers K`` separate
``letter worker`` processes) over the ``smtp`` transport to an aiosmtpd server
running in its own process. Prints emails/s, queue-to-accepted latency
percentiles and the machine. Target (DESIGN.md §8): >= 1,000 emails/s on 2 cores.

Usage: python bench/send.py [--messages 10000] [--database-url URL] [--pool 4]
       [--batch 500] [--workers 0]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from machine import describe

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import func, insert, select  # noqa: E402

from letter.auth import service as auth_service  # noqa: E402
from letter.clock import utcnow  # noqa: E402
from letter.contacts.models import Contact  # noqa: E402
from letter.db.engine import Database  # noqa: E402
from letter.db.migrate import upgrade  # noqa: E402
from letter.delivery.dkim import generate_key  # noqa: E402
from letter.delivery.models import Message, MessageEvent  # noqa: E402
from letter.domains.models import Domain  # noqa: E402
from letter.ids import uuid7  # noqa: E402
from letter.projects import service as projects  # noqa: E402
from letter.runtime import Runtime  # noqa: E402
from letter.settings import Settings  # noqa: E402
from letter.worker.outbox import drain_outbox as drain  # noqa: E402

SMTP_SERVER = """
import asyncio, sys
from aiosmtpd.controller import Controller
class Sink:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        Sink.count += 1
        return "250 OK"
controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.read()
controller.stop()
"""

BODY = {
    "type": "doc",
    "content": [
        {
            "type": "heading",
            "attrs": {"level": 1},
            "content": [{"type": "text", "text": "Welcome, {{ contact.traits.name }}!"}],
        },
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "You are on the "},
                {
                    "type": "text",
                    "text": "{{ contact.traits.plan | default: 'free' }}",
                    "marks": [{"type": "bold"}],
                },
                {"type": "text", "text": " plan. Here is what to do next:"},
            ],
        },
        {
            "type": "bulletList",
            "content": [
                {
                    "type": "listItem",
                    "content": [
                        {
                            "type": "paragraph",
                            "content": [
                                {
                                    "type": "text",
                                    "text": "Invite your team",
                                    "marks": [
                                        {
                                            "type": "link",
                                            "attrs": {"href": "https://app.acme.test/team"},
                                        }
                                    ],
                                }
                            ],
                        }
                    ],
                },
                {
                    "type": "listItem",
                    "content": [
                        {
                            "type": "paragraph",
                            "content": [{"type": "text", "text": "Connect your data"}],
                        }
                    ],
                },
            ],
        },
        {"type": "button", "attrs": {"href": "https://app.acme.test/start", "text": "Get started"}},
    ],
}


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_contacts(db: Database, n: int) -> list[dict[str, object]]:
    """A project sending from a verified, DKIM-signing domain, with ``n`` contacts."""
    with db.session() as session:
        _, ws, _ = auth_service.bootstrap(session, email="bench@acme.test", workspace_name="B")
        project = projects.create_project(session, ws.id, "Acme", "UTC")
        session.add(
            Domain(
                project_id=project.id,
                domain="mail.acme.test",
                status="verified",
                dkim_tokens={"tokens": ["s1"]},
                dkim_keys={"s1": generate_key()},
                verified_at=utcnow(),
            )
        )
        project.sending_mode, project.from_email = "byo_domain", "hello@mail.acme.test"
        project.daily_send_cap = n * 4
        session.flush()
        pid = project.id
    now = utcnow()
    contacts: list[dict[str, object]] = [
        {
            "id": uuid7(),
            "project_id": pid,
            "email": f"user{i}@example.com",
            "external_id": f"u{i}",
            "traits": {"name": f"User {i}", "plan": "pro"},
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    with db.session() as session:
        for i in range(0, n, 5000):
            session.execute(insert(Contact), contacts[i : i + 5000])
    return contacts


def seed(db: Database, n: int) -> None:
    contacts = seed_contacts(db, n)
    queued = utcnow()
    rows, history = [], []
    for c in contacts:
        mid = uuid7()
        rows.append(
            {
                "id": mid,
                "project_id": c["project_id"],
                "contact_id": c["id"],
                "to_email": c["email"],
                "kind": "bulk",
                "priority": 1,
                "subject": "Welcome {{ contact.traits.name }}",
                "preview": "Your account is ready",
                "body_doc": BODY,
                "data": {},
                "state": "queued",
                "attempts": 0,
                "next_attempt_at": queued,
                "message_id_header": f"<{mid}@mail.acme.test>",
                "created_at": queued,
                "updated_at": queued,
            }
        )
        history.append(
            {
                "id": uuid7(),
                "project_id": c["project_id"],
                "message_id": mid,
                "state": "queued",
                "created_at": queued,
            }
        )
    with db.session() as session:
        for i in range(0, n, 5000):
            session.execute(insert(Message), rows[i : i + 5000])
            session.execute(insert(MessageEvent), history[i : i + 5000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--pool", type=int, default=4, help="SMTP connections")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="separate `letter worker` processes (0: drain in this process)",
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
    settings = replace(
        Settings.from_env({"LETTER_DATA_DIR": str(tmp)}),
        database_url=url,
        email_transport="smtp",
        smtp_url=smtp_url,
        secret_key="bench",
        outbox_batch_size=args.batch,
    )
    runtime = Runtime.build(settings)
    try:
        seed(runtime.db, args.messages)
        print(
            f"queued {args.messages} messages; draining "
            f"({args.workers or 'in-process'} worker(s), batch {args.batch}, "
            f"{args.pool} SMTP connections)",
            file=sys.stderr,
        )
        started = time.perf_counter()
        cpu_started, server_started = time.process_time(), cpu_seconds(server.pid)
        if args.workers:
            env = {
                **os.environ,
                "PYTHONPATH": str(ROOT / "src"),
                "LETTER_DATABASE_URL": url,
                "LETTER_DATA_DIR": str(tmp),
                "LETTER_SECRET_KEY": "bench",
                "LETTER_EMAIL_TRANSPORT": "smtp",
                "LETTER_SMTP_URL": smtp_url,
                "LETTER_OUTBOX_BATCH_SIZE": str(args.batch),
            }
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "letter.cli.main", "worker"],
                    env=env,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(args.workers)
            ]
            while True:
                with runtime.db.session() as session:
                    left = session.scalar(
                        select(func.count()).select_from(Message).where(Message.state != "sent")
                    )
                if not left:
                    break
                time.sleep(0.05)
            for proc in procs:
                proc.terminate()
                proc.wait()
        else:
            while drain(runtime):
                pass
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(server.pid) - server_started
        own_cpu = time.process_time() - cpu_started
        with runtime.db.session() as session:
            rows = session.execute(select(Message.created_at, Message.sent_at, Message.state)).all()
        sent = [r for r in rows if r.state == "sent"]
        latencies = sorted((r.sent_at - r.created_at).total_seconds() for r in sent)

        def pct(p: float) -> float:
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))]

        backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print(f"machine: {describe()}")
        print(f"database: {backend}; SMTP: aiosmtpd in another process, {args.pool} connections")
        print(
            f"sent {len(sent)}/{args.messages} in {elapsed:.2f} s: "
            f"{len(sent) / elapsed:,.0f} emails/s (rendered + DKIM-signed + delivered)"
        )
        span = (max(r.sent_at for r in sent) - min(r.sent_at for r in sent)).total_seconds()
        if args.workers and span > 0:
            print(
                f"first to last acceptance {span:.2f} s: {len(sent) / span:,.0f} emails/s "
                "(without the workers' start-up)"
            )
        if not args.workers:
            worker_ms = own_cpu / max(1, len(sent)) * 1e3
            server_ms = server_cpu / max(1, len(sent)) * 1e3
            # The worker (one GIL) and the server each need a core; the slower one bounds.
            print(
                f"CPU per email: worker {worker_ms:.2f} ms, SMTP server {server_ms:.2f} ms; "
                f"with a core each (an idle 2-core machine) the bound is "
                f"{1e3 / max(worker_ms, server_ms):,.0f} emails/s"
            )
            print(f"load average during the run: {os.getloadavg()[0]:.2f}")
        print(
            f"queue-to-accepted latency: p50 {pct(0.5):.2f} s, p99 {pct(0.99):.2f} s "
            f"(all {args.messages} queued at once)"
        )
    finally:
        close = getattr(runtime.transport, "close", None)
        if close:
            close()
        server.communicate(b"", timeout=10)


if __name__ == "__main__":
    main()
