"""Contacts/s through the Python SDK (``letterapp``) into a real ``letter serve``.

Starts the server on a free loopback port (SQLite in a temporary data dir by
default; ``--postgres`` for a private PostgreSQL database created for the run
and dropped after), mints a project key, then pushes N users, each an
``identify`` and a ``group`` (one account per ten users), through
``letterapp.Letter`` clients, page by page (``flush()`` after each page, as
``examples/import_users.py`` does, so the queue stays bounded). It waits for
everything to be flushed, checks the database holds exactly N contacts, all
linked, and prints contacts/s end to end, where the time went (in the
transport vs. the rest) and the machine.

    PYTHONPATH=src:sdks/python/src python bench/sdk_import.py                # 1 M, SQLite
    PYTHONPATH=src:sdks/python/src python bench/sdk_import.py --n 200000 --postgres
    ... --clients 2            # two Letter clients, one thread each
    ... --transport keepalive  # a bench-side transport reusing one connection
    ... --fresh-server         # raw HTTP on a server and database of its own

``--transport urllib`` (the default) is the SDK's own ``UrllibTransport``: one
kept-alive connection, reused by every batch. ``keepalive`` is a bare
``http.client`` transport defined here, for comparison; ``null`` answers every
batch at once without sending it, which measures the SDK alone (its ceiling).
The SDK encodes the next batch while one is in flight, so the share of the
wall time spent in ``transport.send`` shows how much of the rest it hides.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sdks" / "python" / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import bench_server  # noqa: E402
from ingest import USERS_PER_ACCOUNT, count_rows  # noqa: E402
from letterapp import Letter, LetterError, Response, UrllibTransport  # noqa: E402
from letterapp._messages import format_epoch  # noqa: E402
from machine import describe  # noqa: E402


class KeepAliveTransport:
    """One persistent ``http.client`` connection per client (reopened on error)."""

    def __init__(self) -> None:
        self.conn: http.client.HTTPConnection | None = None

    def send(self, url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> Response:
        parts = urlsplit(url)
        if self.conn is None:
            self.conn = http.client.HTTPConnection(parts.netloc, timeout=timeout)
        try:
            self.conn.request("POST", parts.path, body=body, headers=dict(headers))
            answer = self.conn.getresponse()
            return Response(answer.status, dict(answer.getheaders()), answer.read())
        except Exception:
            self.conn.close()
            self.conn = None
            raise


class NullTransport:
    """Answers every batch at once without a server: the SDK's own ceiling."""

    def send(self, url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> Response:
        return Response(200, {}, b'{"accepted": 0, "duplicates": 0, "rejected": []}')


TRANSPORTS: dict[str, Callable[[], Any]] = {
    "urllib": UrllibTransport,
    "keepalive": KeepAliveTransport,
    "null": NullTransport,
}


class Timed:
    """Wraps a transport; adds up requests and seconds spent in ``send``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests = 0
        self.seconds = 0.0

    def send(self, url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> Response:
        started = time.perf_counter()
        try:
            return self.inner.send(url, headers, body, timeout)  # type: ignore[no-any-return]
        finally:
            self.seconds += time.perf_counter() - started
            self.requests += 1


class Failures:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items = 0
        self.first: str | None = None

    def __call__(self, error: LetterError, items: list[dict[str, Any]]) -> None:
        with self.lock:
            self.items += len(items)
            self.first = self.first or str(error)


def push(letter: Letter, first: int, last: int, page: int) -> None:
    """Users ``first..last-1``: an identify and a group each, flushed page by page."""
    for start in range(first, last, page):
        for i in range(start, min(start + page, last)):
            uid = f"user_{i}"
            acct = i // USERS_PER_ACCOUNT
            letter.identify(
                uid,
                email=f"user{i}@example.com",
                traits={
                    "name": f"User {i}",
                    "plan": "pro" if i % 3 else "free",
                    "signup_at": "2025-01-01T00:00:00Z",
                },
            )
            letter.group(uid, f"acct_{acct}", name=f"Account {acct}", traits={"mrr": acct % 500})
        letter.flush()


def raw_bodies(first: int, last: int, flush_at: int) -> list[bytes]:
    """What the SDK sends for users ``first..last-1`` (the same fields: a
    millisecond timestamp and a random message id each), encoded up front in
    batches of ``flush_at`` items."""
    items: list[dict[str, Any]] = []
    for i in range(first, last):
        uid, acct = f"user_{i}", i // USERS_PER_ACCOUNT
        items.append(
            {
                "type": "identify",
                "user_id": uid,
                "email": f"user{i}@example.com",
                "traits": {
                    "name": f"User {i}",
                    "plan": "pro" if i % 3 else "free",
                    "signup_at": "2025-01-01T00:00:00Z",
                },
                "timestamp": format_epoch(time.time()),
                "message_id": str(uuid.uuid4()),
            }
        )
        items.append(
            {
                "type": "group",
                "user_id": uid,
                "account_id": f"acct_{acct}",
                "name": f"Account {acct}",
                "traits": {"mrr": acct % 500},
                "timestamp": format_epoch(time.time()),
                "message_id": str(uuid.uuid4()),
            }
        )
    return [
        orjson.dumps({"batch": items[s : s + flush_at], "skip_triggers": True})
        for s in range(0, len(items), flush_at)
    ]


def push_raw(args: argparse.Namespace, port: int, key: str, first: int) -> float:
    """Raw HTTP with the same clients, batches and users (offset by ``first``):
    pre-encoded bodies over one keep-alive connection per client."""
    bounds = [first + args.n * c // args.clients for c in range(args.clients + 1)]
    bodies = [raw_bodies(bounds[c], bounds[c + 1], args.flush_at) for c in range(args.clients)]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    failed: list[str] = []

    def send(mine: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for body in mine:
            conn.request("POST", "/v1/batch", body=body, headers=headers)
            answer = conn.getresponse()
            payload = answer.read()
            if answer.status != 200 or orjson.loads(payload)["rejected"]:
                failed.append(f"{answer.status} {payload[:200]!r}")
                return
        conn.close()

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failed:
        raise SystemExit(f"raw HTTP batch failed: {failed[0]}")
    return elapsed


def run(args: argparse.Namespace) -> None:
    db = "postgresql" if args.postgres else "sqlite"
    raw = None
    if args.transport != "null" and args.fresh_server:
        with bench_server(db, args.pg_url, args.workers) as srv:
            raw = push_raw(args, srv.port, srv.key, args.n)
    with bench_server(db, args.pg_url, args.workers) as srv:
        base_url = f"http://127.0.0.1:{srv.port}"
        if args.transport != "null" and not args.fresh_server:
            raw = push_raw(args, srv.port, srv.key, args.n)
        elapsed, transports, failures = push_all(args, base_url, srv.key)
        counts = count_rows(srv.env, srv.data_dir)
    report(args, db, elapsed, transports, failures, counts, raw)


def push_all(
    args: argparse.Namespace, base_url: str, key: str
) -> tuple[float, list[Timed], Failures]:
    failures = Failures()
    transports = [Timed(TRANSPORTS[args.transport]()) for _ in range(args.clients)]
    clients = [
        Letter(
            api_key=key,
            base_url=base_url,
            flush_at=args.flush_at,
            max_queue_size=2 * args.page + 10,
            skip_triggers=True,
            timeout=60,
            on_error=failures,
            transport=t,
        )
        for t in transports
    ]
    bounds = [args.n * c // args.clients for c in range(args.clients + 1)]
    threads = [
        threading.Thread(target=push, args=(client, bounds[c], bounds[c + 1], args.page))
        for c, client in enumerate(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return time.perf_counter() - started, transports, failures


def report(
    args: argparse.Namespace,
    db: str,
    elapsed: float,
    transports: list[Timed],
    failures: Failures,
    counts: dict[str, int],
    raw: float | None = None,
) -> None:
    n = args.n
    # The raw phase sends users n..2n-1, into the same database unless --fresh-server.
    users = n if raw is None or args.fresh_server else 2 * n
    accounts = (users + USERS_PER_ACCOUNT - 1) // USERS_PER_ACCOUNT
    expected = {
        "contacts": users,
        "contacts_linked": users,
        "accounts": accounts,
        "receipts": 2 * users,
    }
    got = {k: counts[k] for k in expected}
    requests = sum(t.requests for t in transports)
    in_send = sum(t.seconds for t in transports)
    print(
        f"\n== {db}: {n:,} contacts (identify + group, {2 * n:,} items) through "
        f"{args.clients} Letter client(s), flush_at={args.flush_at}, "
        f"transport={args.transport}, server --workers {args.workers} =="
    )
    print(f"end to end: {elapsed:.2f} s -> {n / elapsed:,.0f} contacts/s (target >= 16,700)")
    if raw is not None:
        where = "a server of its own" if args.fresh_server else "same server"
        print(
            f"raw pre-encoded HTTP, {where}, clients, batches and user count: {raw:.2f} s "
            f"-> {n / raw:,.0f} contacts/s; the SDK reaches {raw / elapsed:.2f} of it "
            "(target >= 0.90)"
        )
    print(
        f"requests: {requests:,}, mean {in_send / max(requests, 1) * 1000:.1f} ms each; "
        f"time in transport.send: {in_send / args.clients / elapsed:.0%} of the wall "
        "time per client"
    )
    if failures.items:
        raise SystemExit(f"{failures.items:,} items reached on_error, first: {failures.first}")
    if args.transport == "null":
        print("null transport: nothing reached the server (the SDK's own ceiling)")
        return
    if got != expected:
        raise SystemExit(f"database does not hold what was sent:\n  got {got}\n  want {expected}")
    print(f"verified: {got}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="users (contacts)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LETTER_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--clients", type=int, default=1, help="Letter clients, a thread each")
    parser.add_argument("--flush-at", type=int, default=500, help="items per batch")
    parser.add_argument("--page", type=int, default=10_000, help="users between flush() calls")
    parser.add_argument(
        "--fresh-server",
        action="store_true",
        help="raw HTTP on a server and database of its own, so the SDK does not write "
        "into a database the raw phase already filled (which alone slows SQLite 15-25 %%)",
    )
    parser.add_argument(
        "--transport",
        choices=list(TRANSPORTS),
        default="urllib",
        help="null: no server at all, measures the SDK alone",
    )
    args = parser.parse_args()
    print(f"machine: {describe()}")
    run(args)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average after the run (1, 5, 15 min): {load} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
