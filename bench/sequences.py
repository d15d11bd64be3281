"""Sequence engine figures: step transitions per second, the cost of trigger
evaluation on ingestion, and how soon a ``wait_event`` resumes.

1. **steps**: N contacts enrolled in trigger → branch → wait(1 min) → exit,
   driven in-process by ``run_due`` (the worker's pump) with an injected
   clock: every node an enrolment passes is one transition (5 per contact,
   no email). Prints transitions/s.
2. **triggers**: a real ``letter serve``; two projects with the same N
   contacts; one with no sequence, one with 20 published sequences whose
   event triggers (on the ingested event's name) carry ``where`` conditions.
   Track events go through ``/v1/batch`` into each project, alternating, in
   the same run; prints events/s of each and the ratio (target ≥ 0.9).
3. **wait_event**: the same server plus a ``letter worker``; K contacts wait
   for an event, which is then ingested for each at a steady rate; the
   resume time is the outbox row of the ``received`` leg's email minus the
   moment the ingestion request returned. Prints p50/p99 (target p99 ≤ 1 s).

    PYTHONPATH=src:bench python bench/sequences.py --contacts 50000
    PYTHONPATH=src:bench python bench/sequences.py --db postgresql
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from harness import api, bench_server, create_pg_database
from ingest import contact_batches, pct, run_phase
from machine import describe
from sqlalchemy import create_engine, insert, text

from letter.auth import service as auth_service
from letter.clock import utcnow
from letter.contacts.models import Contact
from letter.db.engine import Database
from letter.db.migrate import upgrade
from letter.ids import uuid7
from letter.projects import service as projects
from letter.sequences import service
from letter.sequences.engine import run_due
from letter.sequences.models import Enrollment

STEPS_GRAPH = {
    "nodes": [
        {"id": "t", "type": "trigger", "config": {"type": "trigger"}},
        {
            "id": "b",
            "type": "branch",
            "config": {
                "type": "branch",
                "condition": {"kind": "trait", "path": "plan", "op": "eq", "value": "pro"},
            },
        },
        {
            "id": "w",
            "type": "wait",
            "config": {"type": "wait", "duration": {"value": 1, "unit": "minutes"}},
        },
        {"id": "x", "type": "exit", "config": {"type": "exit"}},
    ],
    "edges": [
        {"id": "1", "source": "t", "target": "b"},
        {"id": "2", "source": "b", "target": "w", "branch": "yes"},
        {"id": "3", "source": "b", "target": "w2", "branch": "no"},
        {"id": "4", "source": "w", "target": "x"},
    ],
}
STEPS_GRAPH["nodes"].append(
    {
        "id": "w2",
        "type": "wait",
        "config": {"type": "wait", "duration": {"value": 1, "unit": "minutes"}},
    }
)
STEPS_GRAPH["edges"].append({"id": "5", "source": "w2", "target": "x"})


# ------------------------------------------------------------------ steps


def steps(url: str, n: int, batch: int) -> None:
    upgrade(url)
    db = Database.from_url(url)
    with db.session() as session:
        _, ws, _ = auth_service.bootstrap(session, email="bench@acme.test", workspace_name="B")
        project = projects.create_project(session, ws.id, "Bench", "UTC")
        sequence = service.create_sequence(session, project.id, "Steps")
        service.save_draft(
            session, sequence, STEPS_GRAPH, {"type": "event", "eventName": "Signed Up"}, 0
        )
        version = service.publish(session, sequence, None)
    now = utcnow()
    for start in range(0, n, 5000):
        contacts, enrollments = [], []
        for i in range(start, min(n, start + 5000)):
            cid = uuid7()
            contacts.append(
                {
                    "id": cid,
                    "project_id": project.id,
                    "external_id": f"c{i}",
                    "email": f"c{i}@example.com",
                    "traits": {"plan": "pro" if i % 2 else "free"},
                    "created_at": now,
                    "updated_at": now,
                }
            )
            enrollments.append(
                {
                    "id": uuid7(),
                    "project_id": project.id,
                    "sequence_id": sequence.id,
                    "version_id": version.id,
                    "contact_id": cid,
                    "node_id": "t",
                    "state": "active",
                    "next_run_at": now,
                    "event": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
        with db.session() as session:
            session.execute(insert(Contact), contacts)
            session.execute(insert(Enrollment), enrollments)
    total, elapsed = 0, 0.0
    for at in (now, now + timedelta(minutes=2)):
        t0 = time.perf_counter()
        while True:
            with db.session() as session:
                done = run_due(session, now=at, sending_domain="letter.localhost", limit=batch)
            if not done:
                break
            total += done
        elapsed += time.perf_counter() - t0
    with db.session() as session:
        finished = session.execute(
            text("SELECT count(*) FROM enrollments WHERE state = 'exited'")
        ).scalar()
    assert total == 5 * n and finished == n, (total, finished)
    print(
        f"  steps: {total:,} transitions for {n:,} enrolments in {elapsed:.2f} s "
        f"= {total / elapsed:,.0f} transitions/s (batch {batch})"
    )
    db.engine.dispose()


# --------------------------------------------------------------- triggers


def events(round_no: int, first: int, last: int) -> Iterator[bytes]:
    for start in range(first, last, 100):
        yield orjson.dumps(
            {
                "batch": [
                    {
                        "type": "track",
                        "user_id": f"user_{i}",
                        "event": "Signed In",
                        "message_id": f"r{round_no}:{i}",
                        "properties": {"i": i, "plan": "free"},
                    }
                    for i in range(start, min(start + 100, last))
                ]
            }
        )


def publish(
    port: int, token: str, slug: str, graph: dict[str, Any], trigger: dict[str, Any]
) -> str:
    sid: str = api(port, "POST", f"/v1/projects/{slug}/sequences", token, {})["id"]
    api(
        port,
        "PUT",
        f"/v1/projects/{slug}/sequences/{sid}/draft",
        token,
        {"graph": graph, "trigger": trigger, "expected_revision": 0},
    )
    api(port, "POST", f"/v1/projects/{slug}/sequences/{sid}/publish", token)
    return sid


def email_graph(event: str | None = None) -> dict[str, Any]:
    nodes = [
        {"id": "t", "type": "trigger", "config": {"type": "trigger"}},
        {
            "id": "e",
            "type": "email",
            "config": {
                "type": "email",
                "subject": "Hi",
                "bodyDoc": {
                    "type": "doc",
                    "content": [
                        {"type": "paragraph", "content": [{"type": "text", "text": "Hello"}]}
                    ],
                },
            },
        },
    ]
    edges = [{"id": "1", "source": "t", "target": "e"}]
    if event:
        nodes.append(
            {
                "id": "we",
                "type": "wait_event",
                "config": {
                    "type": "wait_event",
                    "eventName": event,
                    "timeout": {"value": 1, "unit": "days"},
                },
            }
        )
        nodes.append({"id": "x", "type": "exit", "config": {"type": "exit"}})
        edges = [
            {"id": "1", "source": "t", "target": "we"},
            {"id": "2", "source": "we", "target": "e", "branch": "received"},
            {"id": "3", "source": "we", "target": "x", "branch": "timeout"},
        ]
    return {"nodes": nodes, "edges": edges}


def triggers(srv: Any, n: int, clients: int, rounds: int) -> None:
    port, token = srv.port, srv.token
    keys = {}
    wheres = {
        # The usual shape: sequences told apart by a property value.
        "Twenty": lambda k: [
            {"property": "plan", "op": "eq", "value": f"plan-{k}"},
            {"property": "i", "op": "gte", "value": 0},
        ],
        # The worst case: no eq condition, so every event tests all twenty.
        "Twenty ordered": lambda k: [{"property": "i", "op": "lt", "value": -1 - k}],
    }
    for name in ("None", *wheres):
        slug = api(port, "POST", "/v1/projects", token, {"name": name})["slug"]
        keys[name] = api(port, "POST", f"/v1/projects/{slug}/keys", token, {})["key"]
        run_phase(port, keys[name], n, clients, partial(contact_batches, group=False))
        for k in range(20 if name in wheres else 0):
            publish(
                port,
                token,
                slug,
                email_graph(),
                {"type": "event", "eventName": "Signed In", "where": wheres[name](k)},
            )
    rates: dict[str, list[float]] = {name: [] for name in keys}
    for round_no in range(rounds):
        for name in keys:
            elapsed, accepted, _ = run_phase(
                port, keys[name], n, clients, partial(events, round_no)
            )
            assert accepted == n
            rates[name].append(n / elapsed)
    best = {name: max(values) for name, values in rates.items()}
    print(f"  triggers: events/s with no sequence {best['None']:,.0f} (best of {rounds})")
    for name in wheres:
        print(
            f"    20 published, {name!r} where: {best[name]:,.0f} events/s, "
            f"ratio {best[name] / best['None']:.2f}"
        )


# -------------------------------------------------------------- wait_event


def wait_event(srv: Any, k: int, rate: float) -> None:
    port, token = srv.port, srv.token
    slug = api(port, "POST", "/v1/projects", token, {"name": "Waits"})["slug"]
    key = api(port, "POST", f"/v1/projects/{slug}/keys", token, {})["key"]
    sid = publish(port, token, slug, email_graph("Go"), {"type": "event", "eventName": "Start"})
    worker = subprocess.Popen(
        [sys.executable, "-m", "letter.cli.main", "worker", "--queues", "sequences"],
        env=srv.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        items = [
            {"type": "identify", "user_id": f"w{i}", "email": f"w{i}@example.com"} for i in range(k)
        ] + [{"type": "track", "user_id": f"w{i}", "event": "Start"} for i in range(k)]
        ingest(port, key, items)
        deadline = time.time() + 60
        while (
            api(port, "GET", f"/v1/projects/{slug}/sequences/{sid}/activity", token)["counts"][
                "waiting"
            ]
            < k
        ):
            if time.time() > deadline:
                raise SystemExit("enrolments did not reach the wait_event")
            time.sleep(0.2)
        sent_at = {}
        for i in range(k):
            ingest(port, key, [{"type": "track", "user_id": f"w{i}", "event": "Go"}])
            sent_at[f"w{i}@example.com"] = datetime.now(UTC)
            time.sleep(1 / rate)
        time.sleep(2)
        queued = outbox_times(srv, sid)
    finally:
        worker.terminate()
        worker.wait(20)
    latencies = sorted((queued[e] - t).total_seconds() for e, t in sent_at.items())
    assert len(queued) == k, f"{len(queued)} of {k} resumed"
    print(
        f"  wait_event: {k} resumes at {rate:.0f}/s: p50 {pct(latencies, 0.5):.0f} ms, "
        f"p99 {pct(latencies, 0.99):.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )


def ingest(port: int, key: str, items: list[dict[str, Any]]) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for start in range(0, len(items), 100):
        conn.request(
            "POST",
            "/v1/batch",
            body=orjson.dumps({"batch": items[start : start + 100]}),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"ingest failed: {body[:200]!r}")


def outbox_times(srv: Any, sequence_id: str) -> dict[str, datetime]:
    url = srv.env.get("LETTER_DATABASE_URL") or f"sqlite:///{srv.data_dir / 'letter.db'}"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT to_email, created_at FROM messages WHERE sequence_id = :s"),
            {"s": sequence_id.replace("-", "") if url.startswith("sqlite") else sequence_id},
        )
        found = {}
        for email, created in rows:
            if isinstance(created, str):
                created = datetime.fromisoformat(created)
            found[email] = created if created.tzinfo else created.replace(tzinfo=UTC)
    engine.dispose()
    return found


# ------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=50_000, help="for the steps figure")
    parser.add_argument("--events", type=int, default=20_000, help="per trigger phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500, help="enrolments a pump pass claims")
    parser.add_argument("--waits", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="wait_event events/s")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LETTER_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    print(f"machine: {describe()}")
    for db in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        print(f"{db}:")
        with tempfile.TemporaryDirectory(prefix="letter-bench-") as tmp:
            if db == "sqlite":
                steps(f"sqlite:///{Path(tmp) / 'steps.db'}", args.contacts, args.batch)
            else:
                url, drop = create_pg_database(args.pg_url)
                try:
                    steps(url, args.contacts, args.batch)
                finally:
                    drop()
        with bench_server(db, args.pg_url, 1) as srv:
            triggers(srv, args.events, args.clients, args.rounds)
            wait_event(srv, args.waits, args.rate)


if __name__ == "__main__":
    main()
