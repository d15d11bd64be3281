"""Ingestion throughput through ``/v1/batch`` against a real ``letter serve``.

Starts the server on a free loopback port (SQLite in a temporary data dir, then
PostgreSQL in a private database created for the run and dropped after),
mints a project key, then sends N contacts (an identify and a group per user,
one account per ten users) and N events (track) in batches of 100 from
concurrent client processes. It then checks the database holds exactly what
was sent and prints contacts/s, events/s, p50/p99 batch latency, the server's
peak RSS and the machine.

    PYTHONPATH=src python bench/ingest.py --contacts 200000 --clients 4
    PYTHONPATH=src python bench/ingest.py --db postgresql \\
        --pg-url postgresql://postgres@127.0.0.1:5432/postgres --workers 2
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from baseline import bare_upsert_rate
from harness import (
    api,
    bench_server,
    cpu_seconds,
    recorded,
    rss_mb,
)
from machine import describe

BATCH = 100
USERS_PER_ACCOUNT = 10


# ---------------------------------------------------------------- payloads


def contact_batches(first: int, last: int, group: bool = True) -> Iterator[bytes]:
    """Users ``first..last-1``: each an identify and a group, 50 users a batch
    (100 identifies a batch without ``group``)."""
    per = BATCH // 2 if group else BATCH
    for start in range(first, last, per):
        items: list[dict[str, Any]] = []
        for i in range(start, min(start + per, last)):
            uid = f"user_{i}"
            acct = i // USERS_PER_ACCOUNT
            items.append(
                {
                    "type": "identify",
                    "user_id": uid,
                    "email": f"user{i}@example.com",
                    "message_id": f"identify:{uid}",
                    "traits": {
                        "name": f"User {i}",
                        "plan": "pro" if i % 3 else "free",
                        "signup_at": "2025-01-01T00:00:00Z",
                    },
                }
            )
            if not group:
                continue
            items.append(
                {
                    "type": "group",
                    "user_id": uid,
                    "account_id": f"acct_{acct}",
                    "name": f"Account {acct}",
                    "traits": {"mrr": acct % 500},
                    "message_id": f"group:{uid}:{acct}",
                }
            )
        yield orjson.dumps({"batch": items})


def event_batches(first: int, last: int) -> Iterator[bytes]:
    for start in range(first, last, BATCH):
        items = [
            {
                "type": "track",
                "user_id": f"user_{i}",
                "event": "Signed In",
                "message_id": f"track:{i}",
                "properties": {"i": i, "source": "bench"},
            }
            for i in range(start, min(start + BATCH, last))
        ]
        yield orjson.dumps({"batch": items})


# ------------------------------------------------------------------ clients


def client_process(port: int, key: str, bodies: list[bytes], barrier: Any, out: Any) -> None:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    latencies: list[float] = []
    accepted = 0
    barrier.wait()
    for body in bodies:
        t0 = time.perf_counter()
        conn.request("POST", "/v1/batch", body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        latencies.append(time.perf_counter() - t0)
        if response.status != 200:
            raise SystemExit(f"batch failed: {response.status} {payload[:300]!r}")
        result = orjson.loads(payload)
        if result["rejected"]:
            raise SystemExit(f"items rejected: {result['rejected'][:3]}")
        accepted += result["accepted"]
    out.put((accepted, latencies))


def run_phase(
    port: int, key: str, n: int, clients: int, make: Callable[[int, int], Iterator[bytes]]
) -> tuple[float, int, list[float]]:
    """Split users 0..n-1 among the clients; returns wall seconds, items, latencies."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(clients + 1)
    out = ctx.Queue()
    bounds = [n * c // clients for c in range(clients + 1)]
    procs = []
    for c in range(clients):
        # Bodies are encoded before the clock starts, so clients spend CPU on sending only.
        bodies = list(make(bounds[c], bounds[c + 1]))
        procs.append(ctx.Process(target=client_process, args=(port, key, bodies, barrier, out)))
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    results = [out.get() for _ in procs]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
        if p.exitcode:
            raise SystemExit(f"a client failed (exit {p.exitcode})")
    latencies = sorted(x for _, lat in results for x in lat)
    return elapsed, sum(a for a, _ in results), latencies


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


# ------------------------------------------------------------------- checks


def count_rows(env: dict[str, str], data_dir: Path) -> dict[str, int]:
    queries = {
        "contacts": "select count(*) from contacts",
        "contacts_with_email": "select count(*) from contacts where email is not null",
        "contacts_linked": "select count(*) from contacts where account_id is not null",
        "accounts": "select count(*) from accounts",
        "events": "select count(*) from events",
        "events_linked": "select count(*) from events where contact_id is not null",
        "receipts": "select count(*) from message_receipts",
    }
    url = env.get("LETTER_DATABASE_URL")
    if url:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            return {k: conn.execute(q).fetchone()[0] for k, q in queries.items()}  # type: ignore[index]
    conn = sqlite3.connect(data_dir / "letter.db")
    try:
        return {k: conn.execute(q).fetchone()[0] for k, q in queries.items()}
    finally:
        conn.close()


def verify(
    port: int, token: str, slug: str, env: dict[str, str], data_dir: Path, n: int, group: bool
) -> None:
    accounts = (n + USERS_PER_ACCOUNT - 1) // USERS_PER_ACCOUNT if group else 0
    expected = {
        "contacts": n,
        "contacts_with_email": n,
        "contacts_linked": n if group else 0,
        "accounts": accounts,
        "events": n,
        "events_linked": n,
        "receipts": (3 if group else 2) * n,
    }
    got = count_rows(env, data_dir)
    if got != expected:
        raise SystemExit(f"database does not hold what was sent:\n  got {got}\n  want {expected}")
    for i in random.sample(range(n), min(20, n)):
        c = api(port, "GET", f"/v1/projects/{slug}/contacts/user_{i}", token)
        ok = (
            c["email"] == f"user{i}@example.com"
            and c["traits"]["name"] == f"User {i}"
            and (
                c["account"]["external_id"] == f"acct_{i // USERS_PER_ACCOUNT}"
                if group
                else c["account"] is None
            )
            and [e["properties"]["i"] for e in c["recent_events"]] == [i]
        )
        if not ok:
            raise SystemExit(f"contact user_{i} is not what was sent: {c}")


# --------------------------------------------------------------------- main


def run(db: str, args: argparse.Namespace) -> None:
    with bench_server(db, args.pg_url, args.workers) as srv:
        peak = [0.0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], rss_mb(srv.proc.pid))
                stop.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        n = args.contacts
        contacts = partial(contact_batches, group=not args.no_group)
        with recorded(srv.proc.pid, args.profile and f"{args.profile}-{db}.txt"):
            cpu0 = cpu_seconds(srv.proc.pid)
            c_time, c_items, c_lat = run_phase(srv.port, srv.key, n, args.clients, contacts)
            cpu1 = cpu_seconds(srv.proc.pid)
            e_time, e_items, e_lat = run_phase(srv.port, srv.key, n, args.clients, event_batches)
            cpu2 = cpu_seconds(srv.proc.pid)
        stop.set()
        sampler.join()
        verify(srv.port, srv.token, srv.slug, srv.env, srv.data_dir, n, not args.no_group)
        bare = bare_upsert_rate(srv.env, srv.data_dir, n)
    print(
        f"\n== {db} ({args.workers} server process(es), {args.clients} client processes, "
        f"batches of {BATCH}) =="
    )
    kinds = "identify" if args.no_group else "identify + group"
    print(
        f"contacts: {n:,} ({kinds}, {c_items:,} items) in {c_time:.2f} s "
        f"-> {n / c_time:,.0f} contacts/s; batch latency p50 {pct(c_lat, 0.5):.1f} ms, "
        f"p99 {pct(c_lat, 0.99):.1f} ms"
    )
    print(
        f"events:   {n:,} (track, {e_items:,} items) in {e_time:.2f} s "
        f"-> {n / e_time:,.0f} events/s; batch latency p50 {pct(e_lat, 0.5):.1f} ms, "
        f"p99 {pct(e_lat, 0.99):.1f} ms"
    )
    print(
        f"server CPU: {(cpu1 - cpu0) / n * 1e6:.0f} us per contact, "
        f"{(cpu2 - cpu1) / n * 1e6:.0f} us per event "
        f"(one core's worth: {n / max(cpu1 - cpu0, 1e-9):,.0f} contacts/s)"
    )
    print(
        f"bare executemany upsert of the same {n:,} contact rows, same database: "
        f"{bare:,.0f} rows/s; contacts/s is {n / c_time / bare:.3f} of it"
    )
    print(f"server peak RSS: {peak[0]:.0f} MB; verified: counts, links and 20 sampled contacts")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average after the run (1, 5, 15 min): {load}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--no-group",
        action="store_true",
        help="contacts are identifies only (100 contacts a batch)",
    )
    parser.add_argument(
        "--profile", metavar="PREFIX", help="record the server with py-spy into PREFIX-<db>.txt"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LETTER_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    print(f"machine: {describe()}")
    for db in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        run(db, args)


if __name__ == "__main__":
    main()
