"""Caller-thread cost of ``track()``: letterapp vs segment-analytics-python.

Both clients are set up so that no network I/O happens:

* letterapp uses a transport that discards every batch (its background thread
  still encodes and "sends" them, as in production);
* segment-analytics-python is measured twice: with ``send=False`` (its
  ``track`` does all its caller-thread work — validation, timestamp, uuid4,
  ``clean()``, a full ``json.dumps`` for the size check — and returns just
  before ``queue.put``), and with ``send=True``, a queue large enough for the
  whole run and a closed loopback port as host (the same work plus
  ``queue.put``; its consumer thread's uploads are refused at once, and that
  happens off the measured thread).

The figure that matters is CPU time of the calling thread per call
(``time.thread_time``), which excludes time the caller spends waiting for the
GIL while a background thread runs; wall-clock time per call is printed too.
Targets (DESIGN.md §8): letterapp <= 5 µs per call and <= 0.4x segment's.

Usage: python bench/sdk_enqueue.py [--calls 50000] [--rounds 7]
Needs ``pip install segment-analytics-python`` for the comparison.
"""

from __future__ import annotations

import argparse
import atexit
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sdks" / "python" / "src"))

from letterapp import Letter, Response  # noqa: E402

KEY = "lt_live_" + "0123456789abcdef" * 3
PROPERTIES = {"workspace_id": "ws_42", "plan": "pro", "seats": 5}


class DiscardTransport:
    """Accepts every batch without any I/O."""

    def __init__(self) -> None:
        self.requests = 0

    def send(self, url: str, headers: Any, body: bytes, timeout: float) -> Response:
        self.requests += 1
        return Response(200, {}, b'{"accepted": 0, "duplicates": 0, "rejected": []}')


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or "unknown"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": model,
        "cores": f"{usable} usable ({os.cpu_count()} online)",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
    }


def measure(
    call: Callable[[], Any], calls: int, rounds: int, between: Callable[[], Any] | None = None
) -> tuple[float, float]:
    """Median (CPU µs/call, wall µs/call) over ``rounds`` rounds of ``calls`` calls."""
    for _ in range(min(calls, 2000)):  # warm up
        call()
    if between:
        between()
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(rounds):
        c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
        for _ in range(calls):
            call()
        c1, w1 = time.thread_time_ns(), time.perf_counter_ns()
        cpu.append((c1 - c0) / calls / 1000)
        wall.append((w1 - w0) / calls / 1000)
        if between:
            between()
    return statistics.median(cpu), statistics.median(wall)


def bench_letterapp(calls: int, rounds: int) -> tuple[float, float]:
    transport = DiscardTransport()
    letter = Letter(KEY, transport=transport, max_queue_size=calls * 2 + 10_000)

    def call() -> None:
        letter.track(user_id="user_123", event="Workspace Created", properties=PROPERTIES)

    try:
        result = measure(call, calls, rounds, between=lambda: letter.flush(timeout=60))
    finally:
        letter.close(timeout=60)
    assert transport.requests > 0
    return result


def bench_segment(calls: int, rounds: int, send: bool) -> tuple[float, float] | None:
    try:
        from segment.analytics import Client  # type: ignore[import-not-found]
    except ImportError:
        return None
    import logging

    logging.getLogger("segment").setLevel(logging.CRITICAL)  # its "queue full"/retry logs
    options: dict[str, Any] = {"send": send}
    if send:
        options.update(
            host="http://127.0.0.1:9",  # closed port: nothing is ever delivered
            max_queue_size=(calls + 2000) * (rounds + 1),
            upload_interval=3600,
            upload_size=10**9,
            max_retries=0,
        )
    client = Client("bench-write-key", **options)

    def call() -> None:
        client.track(user_id="user_123", event="Workspace Created", properties=PROPERTIES)

    result = measure(call, calls, rounds)
    if send:
        # Its atexit hook would join a consumer blocked in queue.get(timeout=3600):
        # stop the (daemon) consumer and drop the hook; nothing was ever sent.
        atexit.unregister(client.join)
        for consumer in client.consumers or []:
            consumer.pause()
    return result


def row(name: str, figures: tuple[float, float]) -> None:
    print(f"{name:<46} {figures[0]:>12.2f} {figures[1]:>12.2f}")


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=50_000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (the median is kept)")
    args = parser.parse_args()

    info = machine()
    print("sdk_enqueue: caller-thread cost of track()")
    for key, value in info.items():
        print(f"  {key + ':':<9} {value}")
    print(f"  calls:    {args.calls} x {args.rounds} rounds (median)")
    print()

    ours = bench_letterapp(args.calls, args.rounds)
    seg_nosend = bench_segment(args.calls, args.rounds, send=False)
    seg_queue = bench_segment(args.calls, args.rounds, send=True)

    print(f"{'client':<46} {'CPU µs/call':>12} {'wall µs/call':>12}")
    row("letterapp (discarding transport)", ours)
    if seg_nosend is None or seg_queue is None:
        print("segment-analytics-python is not installed: no comparison")
        print()
        print(f"target <= 5 µs/call: {verdict(ours[0] <= 5)}")
        return 0
    row("segment-analytics-python (send=False)", seg_nosend)
    row("segment-analytics-python (send=True, queued)", seg_queue)
    print()
    ratio = ours[0] / seg_nosend[0]
    ratio_queued = ours[0] / seg_queue[0]
    print(f"ratio letterapp / segment (send=False):   {ratio:.3f}")
    print(f"ratio letterapp / segment (send=True):    {ratio_queued:.3f}")
    print()
    print(f"target <= 5 µs/call:            {verdict(ours[0] <= 5)}")
    print(f"target <= 0.4x segment's:       {verdict(ratio <= 0.4)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
