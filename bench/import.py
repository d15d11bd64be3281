"""CSV import throughput against a bare ``executemany`` upsert, same run.

Writes an 8-column CSV (external_id, email, first_name, last_name, plan, city,
signup_date, status) of N rows, then on each database:

1. baseline: the same rows, read from the file a chunk at a time, upserted
   into ``contacts`` with the driver's ``executemany`` (``INSERT … ON
   CONFLICT (project_id, external_id) DO UPDATE``) and a commit per chunk —
   only the executemany and the commit are timed;
2. import: the ``imports.run`` job's code (``letter.imports.runner``) on the
   same file into another project of the same database: counting, decoding,
   checking every email and status, lookups, inserts, a commit per chunk.

Each runs in a process of its own, so its peak RSS is its own; the import's
parsing child is reported apart. Prints rows/s, the ratio (target >= 0.5x:
DESIGN §8), CPU seconds, peak memory for a small and a large file (flat in
file size), and the machine.

    python bench/import.py                         # 1 M rows (and 100 K), both databases
    python bench/import.py --rows 200000 --db sqlite
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from machine import describe

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

MAPPING = {
    "external_id": "external_id",
    "email": "email",
    "first_name": "traits.first_name",
    "last_name": "traits.last_name",
    "plan": "traits.plan",
    "city": "traits.city",
    "signup_date": "traits.signup_date",
    "status": "status",
}
FIRST = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Dennis", "Frances"]
LAST = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Thompson", "Allen"]
PLANS = ["free", "pro", "team", "scale"]
CITIES = ["Paris", "Lyon", "Berlin", "Madrid", "Rome", "Oslo", "Lisbon", "Vienna"]
CHUNK = 5000


def write_file(path: Path, rows: int) -> None:
    rnd = random.Random(rows)
    with path.open("w", newline="") as out:
        out.write(",".join(MAPPING) + "\n")
        for i in range(rows):
            status = "unsubscribed" if rnd.random() < 0.1 else "subscribed"
            out.write(
                f"user_{i:07d},user{i}@example{i % 50}.com,{rnd.choice(FIRST)},"
                f"{rnd.choice(LAST)},{rnd.choice(PLANS)},{rnd.choice(CITIES)},"
                f"2024-{1 + i % 12:02d}-{1 + i % 28:02d},{status}\n"
            )


def _project(url: str, name: str) -> tuple[Any, uuid.UUID, uuid.UUID]:
    from letter.auth import service as auth_service
    from letter.db.engine import Database
    from letter.projects import service as projects

    db = Database.from_url(url)
    with db.session() as session:
        user, ws, _ = auth_service.bootstrap(
            session, email=f"{name}-{uuid.uuid4().hex[:6]}@b.test", workspace_name=name
        )
        project = projects.create_project(session, ws.id, name, "UTC")
        return db, project.id, user.id


def _usage(start_wall: float, start_cpu: float) -> dict[str, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": time.perf_counter() - start_wall,
        "cpu": time.process_time() - start_cpu,
        "cpu_children": kids.ru_utime + kids.ru_stime,
        "rss_mb": me.ru_maxrss / 1024,
        "rss_children_mb": kids.ru_maxrss / 1024,
    }


def child_baseline(url: str, path: Path) -> dict[str, Any]:
    db, project_id, _ = _project(url, "baseline")
    sqlite = url.startswith("sqlite")
    mark = "?" if sqlite else "%s"
    sql = (
        "INSERT INTO contacts (id, project_id, external_id, email, email_key, traits,"
        " unsubscribed_at, unsubscribe_reason, created_at, updated_at) VALUES ("
        + ", ".join([mark] * 10)
        + ") ON CONFLICT (project_id, external_id) DO UPDATE SET"
        " email = excluded.email, email_key = excluded.email_key, traits = excluded.traits,"
        " updated_at = excluded.updated_at"
    )
    from datetime import UTC, datetime

    from letter.ids import uuid7

    now = datetime.now(UTC)
    at: Any = f"{now:%Y-%m-%d %H:%M:%S.%f}" if sqlite else now
    pid: Any = project_id.hex if sqlite else project_id
    timed, timed_cpu, rows_done = 0.0, 0.0, 0
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        while True:
            batch = []
            for ext, email, first, last, plan, city, date, status in reader:
                traits = orjson.dumps(
                    {
                        "first_name": first,
                        "last_name": last,
                        "plan": plan,
                        "city": city,
                        "signup_date": date,
                    }
                ).decode()
                off = status == "unsubscribed"
                batch.append(
                    (
                        uuid7().hex if sqlite else uuid7(),
                        pid,
                        ext,
                        email,
                        email.casefold(),
                        traits,
                        at if off else None,
                        "import" if off else None,
                        at,
                        at,
                    )
                )
                if len(batch) == CHUNK:
                    break
            if not batch:
                break
            start, start_cpu = time.perf_counter(), time.process_time()
            with db.session() as session:
                raw = session.connection().connection.dbapi_connection
                raw.cursor().executemany(sql, batch)  # type: ignore[union-attr]
            timed += time.perf_counter() - start
            timed_cpu += time.process_time() - start_cpu
            rows_done += len(batch)
    usage = _usage(time.perf_counter(), 0.0)
    return {"rows": rows_done, "seconds": timed, **usage, "cpu": timed_cpu}


def child_import(url: str, path: Path, data_dir: Path, parallel: bool | None) -> dict[str, Any]:
    from letter.imports import service
    from letter.imports.models import ImportJob
    from letter.imports.runner import run_import
    from letter.settings import Settings

    db, project_id, user_id = _project(url, "import")
    settings = Settings.from_env(
        {
            "LETTER_DATA_DIR": str(data_dir),
            "LETTER_SECRET_KEY": "b",
            "LETTER_DATABASE_URL": url,
            "LETTER_IMPORT_CHUNK_ROWS": str(CHUNK),
        }
    )
    with db.session() as session, path.open("rb") as fh:
        job = service.create_import(
            session,
            project_id,
            user_id,
            service.Upload(fh, path.name),
            mapping=json.dumps(MAPPING),
            uploads_dir=settings.uploads_dir,
        )
        import_id = job.id
    wall0, cpu0 = time.perf_counter(), time.process_time()
    run_import(db, settings, import_id, parallel=parallel)
    usage = _usage(wall0, cpu0)
    with db.session() as session:
        done = session.get(ImportJob, import_id)
        assert done is not None and done.status == "completed", done and done.error
        counts = {"created": done.created, "failed": done.failed, "total": done.total}
    return {"rows": counts["total"], "seconds": usage["wall"], **usage, **counts}


def run_child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def database(kind: str, pg_url: str, tmp: Path) -> tuple[str, Any]:
    from letter.db.migrate import upgrade

    if kind == "sqlite":
        url, drop = f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:6]}.db'}", (lambda: None)
    else:
        sys.path.insert(0, str(Path(__file__).parent))
        from harness import create_pg_database

        url, drop = create_pg_database(pg_url)
    upgrade(url)
    return url, drop


def measure(kind: str, pg_url: str, path: Path, tmp: Path, parallel: str) -> dict[str, Any]:
    url, drop = database(kind, pg_url, tmp)
    try:
        base = run_child("baseline", url, str(path))
        imp = run_child("import", url, str(path), str(tmp / "data"), parallel)
    finally:
        drop()
    return {"baseline": base, "import": imp}


def report(kind: str, rows: int, found: dict[str, Any]) -> None:
    base, imp = found["baseline"], found["import"]
    base_rate = base["rows"] / base["seconds"]
    imp_rate = imp["rows"] / imp["seconds"]
    print(f"\n== {kind}, {rows:,} rows ==")
    print(f"baseline executemany upsert: {base_rate:,.0f} rows/s ({base['seconds']:.1f} s)")
    print(
        f"import:                      {imp_rate:,.0f} rows/s ({imp['seconds']:.1f} s, "
        f"{imp['created']:,} created, {imp['failed']} failed)  ratio "
        f"{imp_rate / base_rate:.2f}x (target >= 0.5x)"
    )
    print(
        f"import CPU: worker {imp['cpu']:.1f} s + parser {imp['cpu_children']:.1f} s; "
        f"baseline CPU {base['cpu']:.1f} s (the client's share; the server's too on SQLite)"
    )
    print(f"peak RSS: worker {imp['rss_mb']:.0f} MB, parser {imp['rss_children_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000, help="rows of the RSS check")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--parallel", choices=["auto", "yes", "no"], default="auto")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LETTER_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, url, path, *rest = args.child
        if kind == "baseline":
            result = child_baseline(url, Path(path))
        else:
            parallel = {"auto": None, "yes": True, "no": False}[rest[1]]
            result = child_import(url, Path(path), Path(rest[0]), parallel)
        print(json.dumps(result))
        return
    print(f"machine: {describe()}")
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="letter-bench-import-") as tmp_name:
        tmp = Path(tmp_name)
        files = {}
        for rows in sorted({args.small, args.rows}):
            files[rows] = tmp / f"people-{rows}.csv"
            write_file(files[rows], rows)
            print(f"file: {rows:,} rows, {files[rows].stat().st_size / 1e6:.0f} MB")
        for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
            for rows, path in files.items():
                report(kind, rows, measure(kind, args.pg_url, path, tmp, args.parallel))


if __name__ == "__main__":
    main()
