"""Latency of single ``POST /v1/identify`` calls at a fixed request rate.

Starts a real ``letter serve`` (SQLite, or a private PostgreSQL database with
``--db postgresql``), then sends identify calls open-loop at ``--rate``
requests/s for ``--seconds`` from a pool of keep-alive connections: each call
is scheduled at its start time whether or not earlier ones have returned, so
queueing delay counts in the latency (no coordinated omission). Prints p50,
p99, p99.9, max, the achieved rate and the machine. Target (DESIGN §8):
p99 ≤ 25 ms at 500 req/s.

    PYTHONPATH=src python bench/identify_latency.py --rate 500 --seconds 20
"""

from __future__ import annotations

import argparse
import http.client
import os
import queue
import sys
import threading
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import bench_server, cpu_seconds, recorded
from ingest import pct
from machine import describe


def sender(
    port: int,
    key: str,
    jobs: queue.Queue[tuple[float, bytes] | None],
    latencies: list[float],
    errors: list[str],
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    while (job := jobs.get()) is not None:
        due, body = job
        try:
            conn.request("POST", "/v1/identify", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(str(response.status))
        except (OSError, http.client.HTTPException) as exc:
            errors.append(type(exc).__name__)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies.append(time.perf_counter() - due)
    conn.close()


def measure(
    port: int, key: str, rate: float, seconds: float, connections: int
) -> tuple[list[float], list[str], float]:
    jobs: queue.Queue[tuple[float, bytes] | None] = queue.Queue()
    latencies: list[float] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=sender, args=(port, key, jobs, latencies, errors))
        for _ in range(connections)
    ]
    for thread in threads:
        thread.start()
    total = int(rate * seconds)
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        body = orjson.dumps(
            {
                "user_id": f"user_{i}",
                "email": f"user{i}@example.com",
                "traits": {"plan": "free", "seq": i, "nested": {"a": i % 7}},
            }
        )
        jobs.put((due, body))
    for _ in threads:
        jobs.put(None)
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - start


def calls_per_transaction(port: int) -> str:
    """From the server's /metrics (one process's: with several, the one
    that answered the scrape)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    values = {}
    for line in conn.getresponse().read().decode().splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("letter_ingest_single_call"):
            values[name] = float(value)
    conn.close()
    calls = values.get("letter_ingest_single_calls_total", 0.0)
    transactions = values.get("letter_ingest_single_call_transactions_total", 0.0)
    return f"{calls / max(transactions, 1):.2f} ({calls:,.0f} calls)"


def run(db: str, args: argparse.Namespace) -> None:
    with bench_server(db, args.pg_url, args.workers) as srv:
        measure(srv.port, srv.key, args.rate, 2, args.connections)  # warm up
        with recorded(srv.proc.pid, args.profile and f"{args.profile}-{db}.txt"):
            cpu0 = cpu_seconds(srv.proc.pid)
            latencies, errors, elapsed = measure(
                srv.port, srv.key, args.rate, args.seconds, args.connections
            )
            cpu = cpu_seconds(srv.proc.pid) - cpu0
        shared = calls_per_transaction(srv.port)
    ms = sorted(x * 1000 for x in latencies)
    seconds = sorted(latencies)
    print(f"\n== {db} ({args.workers} server process(es), {args.connections} connections) ==")
    print(
        f"identify: {len(ms):,} calls at {len(ms) / elapsed:,.0f} req/s "
        f"(asked {args.rate:,.0f}); errors: {len(errors)}"
    )
    print(
        f"latency: p50 {pct(seconds, 0.50):.1f} ms, p99 {pct(seconds, 0.99):.1f} ms, "
        f"p99.9 {pct(seconds, 0.999):.1f} ms, max {ms[-1]:.1f} ms (target p99 <= 25 ms)"
    )
    print(
        f"server CPU: {cpu / max(len(ms), 1) * 1e6:.0f} us per call "
        f"(one core's worth: {len(ms) / max(cpu, 1e-9):,.0f} calls/s)"
    )
    print(f"single calls per transaction (group commit, whole run): {shared}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average after the run (1, 5, 15 min): {load}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument(
        "--profile", metavar="PREFIX", help="record the server with py-spy into PREFIX-<db>.txt"
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
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
