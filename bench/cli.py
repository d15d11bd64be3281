"""Start-up time of the ``letter`` CLI: ``letter --help`` and list commands
against a real ``letter serve`` on loopback.

Each run is a new process, as when a person types the command (the OS file
cache is warm, as it is after the first command of a session). Prints the
median, p90 and best wall time of ``--runs`` runs, the median CPU time (less
sensitive to other load on the machine), the machine and its load. Targets (DESIGN §8):
``letter --help`` ≤ 250 ms, a list command ≤ 400 ms.

    PYTHONPATH=src python bench/cli.py --runs 20
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import bench_server
from machine import describe

LETTER = str(Path(sys.executable).parent / "letter")


def timed(args: list[str], env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (user + system) milliseconds of each run."""
    subprocess.run([LETTER, *args], env=env, capture_output=True, check=True)  # warm the cache
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([LETTER, *args], env=env, capture_output=True, check=True)
        walls.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return walls, cpus


def report(label: str, samples: tuple[list[float], list[float]], target: float) -> None:
    walls, cpus = (sorted(s) for s in samples)
    p90 = walls[min(len(walls) - 1, int(len(walls) * 0.9))]
    median = statistics.median(walls)
    verdict = "ok" if median <= target else "OVER TARGET"
    print(
        f"{label:<32} wall median {median:5.0f} ms  p90 {p90:5.0f}  best {walls[0]:5.0f}"
        f"  | cpu median {statistics.median(cpus):5.0f} ms  (target {target:.0f} ms: {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    # Other work on the machine inflates wall time: the load average says how much.
    print(describe(f"load average {os.getloadavg()[0]:.2f}"))
    with bench_server("sqlite", "", 1) as srv, tempfile.TemporaryDirectory() as home:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": home,
            "XDG_CONFIG_HOME": home,
            "LETTER_API_URL": f"http://127.0.0.1:{srv.port}",
            "LETTER_PAT": srv.token,
            "LETTER_PROJECT": srv.slug,
        }
        report("letter --help", timed(["--help"], env, args.runs), 250)
        report("letter projects list (table)", timed(["projects", "list"], env, args.runs), 400)
        report(
            "letter projects list --json",
            timed(["projects", "list", "--json"], env, args.runs),
            400,
        )
        report("letter contacts list (table)", timed(["contacts", "list"], env, args.runs), 400)


if __name__ == "__main__":
    main()
