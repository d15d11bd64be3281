"""Contact export throughput and memory.

Seeds N contacts (six traits, two of them nested; a tenth suppressed; a third
in a list and subscribed to a topic) in bulk, then times the ``exports.run``
job's code (``letter.imports.exporting.write_export``) writing them all to a
CSV, and one filtered export (a FilterSpec on a trait), in a process of its
own so its peak RSS is its own (its part writer's is reported apart).
Target (DESIGN §8): >= 100,000 rows/s, memory flat in the number of contacts
(compare the two sizes).

    python bench/export.py                         # 1 M contacts (and 100 K), both databases
    python bench/export.py --contacts 200000 --db sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from machine import describe

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
PLANS = ["free", "pro", "team", "scale"]
CHUNK = 10_000


def seed(url: str, contacts: int) -> uuid.UUID:
    from letter.audience.models import ContactList, Topic
    from letter.auth import service as auth_service
    from letter.db.engine import Database
    from letter.ids import uuid7
    from letter.projects import service as projects

    db = Database.from_url(url)
    sqlite = url.startswith("sqlite")
    with db.session() as session:
        _, ws, _ = auth_service.bootstrap(
            session, email=f"o{uuid.uuid4().hex[:6]}@b.test", workspace_name="Bench"
        )
        project = projects.create_project(session, ws.id, "Bench", "UTC")
        vip = ContactList(id=uuid7(), project_id=project.id, name="VIP")
        news = Topic(id=uuid7(), project_id=project.id, name="News")
        session.add_all([vip, news])
        project_id, list_id, topic_id = project.id, vip.id, news.id
    mark = "?" if sqlite else "%s"
    now = datetime.now(UTC)
    at: Any = f"{now:%Y-%m-%d %H:%M:%S.%f}" if sqlite else now

    def ident(value: uuid.UUID) -> Any:
        return value.hex if sqlite else value

    pid = ident(project_id)
    for start in range(0, contacts, CHUNK):
        people, members, subs = [], [], []
        for i in range(start, min(contacts, start + CHUNK)):
            cid = uuid7()
            traits = {
                "name": f"Person {i}",
                "plan": PLANS[i % 4],
                "mrr": i % 500,
                "beta": i % 3 == 0,
                "company": {"name": f"Co {i % 97}", "size": i % 50},
            }
            off = at if i % 10 == 0 else None
            people.append(
                (
                    ident(cid),
                    pid,
                    f"user_{i}",
                    f"user{i}@example.com",
                    f"user{i}@example.com",
                    orjson.dumps(traits).decode(),
                    off,
                    "import" if off else None,
                    at,
                    at,
                )
            )
            if i % 3 == 0:
                members.append((pid, ident(list_id), ident(cid), at))
                subs.append((pid, ident(topic_id), ident(cid), True, at))
        with db.session() as session:
            cur = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            cur.executemany(
                "INSERT INTO contacts (id, project_id, external_id, email, email_key, traits,"
                " unsubscribed_at, unsubscribe_reason, created_at, updated_at) VALUES ("
                + ", ".join([mark] * 10)
                + ")",
                people,
            )
            cur.executemany(
                "INSERT INTO list_members VALUES (" + ", ".join([mark] * 4) + ")", members
            )
            cur.executemany(
                "INSERT INTO topic_subscriptions (project_id, topic_id, contact_id,"
                " subscribed, updated_at) VALUES (" + ", ".join([mark] * 5) + ")",
                subs,
            )
    db.engine.dispose()
    return project_id


def child(url: str, project_id: str, out: Path, params: dict[str, Any]) -> dict[str, Any]:
    from letter.db.engine import Database
    from letter.imports.exporting import write_export

    def cpu_seconds() -> float:  # this process and the part writer it waited for
        return sum(u.ru_utime + u.ru_stime for u in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN)))

    db = Database.from_url(url)
    wall, cpu = time.perf_counter(), cpu_seconds()
    rows = write_export(db, uuid.UUID(project_id), params, out)
    me = resource.getrusage(resource.RUSAGE_SELF)
    writer = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "rows": rows,
        "seconds": time.perf_counter() - wall,
        "cpu": cpu_seconds() - cpu,
        "rss_mb": me.ru_maxrss / 1024,
        "child_rss_mb": writer.ru_maxrss / 1024,
        "mb": out.stat().st_size / 1e6,
    }


def run_child(url: str, project_id: uuid.UUID, out: Path, params: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", url, str(project_id), str(out), json.dumps(params)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def database(kind: str, pg_url: str, tmp: Path) -> tuple[str, Any]:
    from letter.db.migrate import upgrade

    if kind == "sqlite":
        url, drop = f"sqlite:///{tmp / f'export-{uuid.uuid4().hex[:6]}.db'}", (lambda: None)
    else:
        sys.path.insert(0, str(Path(__file__).parent))
        from harness import create_pg_database

        url, drop = create_pg_database(pg_url)
    upgrade(url)
    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LETTER_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        url, project_id, out, params = args.child
        print(json.dumps(child(url, project_id, Path(out), json.loads(params))))
        return
    print(f"machine: {describe()}")
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    pro = {"filter": {"kind": "trait", "path": "plan", "op": "eq", "value": "pro"}}
    with tempfile.TemporaryDirectory(prefix="letter-bench-export-") as tmp_name:
        tmp = Path(tmp_name)
        for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
            for contacts in sorted({args.small, args.contacts}):
                url, drop = database(kind, args.pg_url, tmp)
                try:
                    project_id = seed(url, contacts)
                    every = run_child(url, project_id, tmp / "all.csv", {})
                    again = run_child(url, project_id, tmp / "all.csv", {})
                    some = run_child(url, project_id, tmp / "pro.csv", pro)
                finally:
                    drop()
                print(f"\n== {kind}, {contacts:,} contacts ==")
                # The first export after the bulk load also sets PostgreSQL's
                # hint bits on every page it reads: a one-off write.
                runs = (("everyone", every), ("everyone again", again), ("plan = pro", some))
                for name, found in runs:
                    print(
                        f"{name}: {found['rows']:,} rows, {found['mb']:.0f} MB in "
                        f"{found['seconds']:.1f} s = {found['rows'] / found['seconds']:,.0f} "
                        f"rows/s (target >= 100,000); CPU {found['cpu']:.1f} s (both writers, "
                        f"without the database server); peak RSS {found['rss_mb']:.0f} MB, "
                        f"part writer {found['child_rss_mb']:.0f} MB"
                    )


if __name__ == "__main__":
    main()
