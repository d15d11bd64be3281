"""Soak under faults, full size: ``tests/reliability/test_chaos.py`` for
10 minutes at 500 requests/s by default.

Starts a private PostgreSQL cluster (initdb in a temporary directory, on a
free port), two ``letter serve --no-worker`` API processes and two
``letter worker`` processes with Redis (``LETTER_TEST_REDIS_URL``, default
redis://127.0.0.1:6379/0) and SMTP on loopback. Clients ingest (batches,
identifies and tracks, retried with their messageId) and use the Management
API at a steady rate while a broadcast sends to a segment and a published
sequence welcomes every sign-up; at 20 %, 40 % and 60 % of the run an API
process is SIGKILLed, a worker is SIGKILLed and PostgreSQL restarts. Then it
prints the load held, p50/p99, the faults, what was lost (must be nothing)
and the duplicates, with the machine; exit status 1 if anything was lost.

    python bench/soak.py                           # 600 s at 500 requests/s
    python bench/soak.py --duration 120 --rate 100 --audience 2000
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]
# The shared test helpers import Starlette's test client, which warns about httpx.
warnings.filterwarnings("ignore", message="Using `httpx`")

from machine import describe  # noqa: E402

from tests.reliability.chaos.run import Plan, run_chaos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--rate", type=float, default=500.0, help="requests started per second")
    parser.add_argument("--audience", type=int, default=5000, help="broadcast recipients")
    parser.add_argument(
        "--outbox-batch",
        type=int,
        default=50,
        help="messages a worker claims at once (the in-flight window)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=300.0,
        help="seconds allowed for the work to finish after the load",
    )
    args = parser.parse_args()
    os.environ.setdefault("PYTHONPATH", str(ROOT / "src"))
    plan = Plan(
        duration=args.duration,
        rate=args.rate,
        audience=args.audience,
        outbox_batch=args.outbox_batch,
        settle=args.settle,
    )
    print(describe(f"load average {os.getloadavg()[0]:.1f} at the start"), flush=True)
    report = run_chaos(plan)
    print(describe(f"load average {os.getloadavg()[0]:.1f} at the end"))
    for line in report.lines():
        print(line)
    lost = report.figures.get("events lost", 0) + report.figures.get("contacts lost", 0)
    print(
        f"lost: {lost}; duplicates: broadcast "
        f"{report.figures.get('broadcast in-flight duplicates')}, sequence "
        f"{report.figures.get('sequence in-flight duplicates')}, events "
        f"{report.figures.get('events stored twice')}"
    )
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
