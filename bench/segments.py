"""Segment preview over a large audience, on SQLite and PostgreSQL.

Generates N contacts (plan, mrr, signup date, booleans, nested company, tags,
70% linked to one of N/10 accounts) and M events (a dozen names over the last
year) by bulk load, then times ``segments.service.preview`` for representative
filters and prints each median and the machine. Targets (DESIGN §8): <= 300 ms
on PostgreSQL, <= 1 s on SQLite.

    python bench/segments.py                              # 1 M contacts, 10 M events
    python bench/segments.py --contacts 100000 --events 1000000 --db sqlite

The generated databases are kept and reused: bench/out/segments-<N>-<M>.db and
the PostgreSQL database letter_bench_segments_<N>_<M> (at --pg-url).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from machine import describe
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from letter.auth.models import Workspace
from letter.contacts.models import Account, Contact, Event
from letter.db.engine import Database, make_engine
from letter.projects.models import Project
from letter.segments import service
from letter.tables import Base

OUT = Path(__file__).parent / "out"
NOW = datetime.now(UTC).replace(microsecond=0)
PROJECT_ID = uuid.UUID("00000000-0000-7000-8000-000000000001")
WORKSPACE_ID = uuid.UUID("00000000-0000-7000-8000-000000000002")
PLANS = ["free"] * 5 + ["starter"] * 2 + ["pro"] * 2 + ["enterprise"]
EVENT_NAMES = (
    ["Signed In"] * 8
    + ["Page Viewed"] * 10
    + ["Feature Used"] * 5
    + [
        "Signed Up",
        "Invited Teammate",
        "Upgraded",
        "Downgraded",
        "Purchased",
        "Exported Report",
        "Created Project",
        "Payment Failed",
        "Churned",
    ]
)
INDUSTRIES = ["saas", "retail", "health", "finance", "media", "education"]
TAGS = ["vip", "beta", "newsletter", "partner", "churn-risk", "champion"]

FILTERS: dict[str, dict[str, Any]] = {
    "plan neq free AND did Signed In within 7 days": {
        "kind": "group",
        "op": "and",
        "children": [
            {"kind": "trait", "path": "plan", "op": "neq", "value": "free"},
            {
                "kind": "event",
                "eventName": "Signed In",
                "did": True,
                "window": {"value": 7, "unit": "day"},
            },
        ],
    },
    "numeric: mrr gt 1000": {"kind": "trait", "path": "mrr", "op": "gt", "value": 1000},
    "contains: tags contains vip": {
        "kind": "trait",
        "path": "tags",
        "op": "contains",
        "value": "vip",
    },
    "did not Purchased within 90 days": {
        "kind": "event",
        "eventName": "Purchased",
        "did": False,
        "window": {"value": 90, "unit": "day"},
    },
    "three-level nested group": {
        "kind": "group",
        "op": "or",
        "children": [
            {
                "kind": "group",
                "op": "and",
                "children": [
                    {"kind": "trait", "path": "plan", "op": "eq", "value": "pro"},
                    {
                        "kind": "group",
                        "op": "or",
                        "children": [
                            {"kind": "trait", "path": "company.size", "op": "gte", "value": 200},
                            {"kind": "trait", "path": "beta", "op": "eq", "value": True},
                        ],
                    },
                ],
            },
            {
                "kind": "group",
                "op": "and",
                "children": [
                    {"kind": "trait", "path": "signup", "op": "gt", "value": "2026-01-01"},
                    {"kind": "suppression", "includesSuppressed": False},
                ],
            },
        ],
    },
    "account trait: account.plan eq enterprise": {
        "kind": "trait",
        "path": "account.plan",
        "op": "eq",
        "value": "enterprise",
    },
}


def hexid(n: int, kind: int) -> str:
    return f"{kind:08x}0000700080{n:014x}"


def contact_rows(count: int, accounts: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    for n in range(count):
        plan = rng.choice(PLANS)
        traits: dict[str, Any] = {
            "name": f"User {n}",
            "plan": plan,
            "mrr": 0
            if plan == "free"
            else (rng.randint(10, 5000) if n % 3 else round(rng.uniform(10, 5000), 2)),
            "signup": (NOW - timedelta(days=rng.randint(0, 900))).strftime("%Y-%m-%d"),
            "beta": rng.random() < 0.1,
            "verified": rng.random() < 0.8,
            "company": {"size": rng.randint(1, 1000), "industry": rng.choice(INDUSTRIES)},
        }
        if rng.random() < 0.3:
            traits["tags"] = rng.sample(TAGS, rng.randint(1, 3))
        account = hexid(rng.randrange(accounts), 2) if rng.random() < 0.7 else None
        unsub = NOW.strftime("%Y-%m-%d %H:%M:%S.000000") if rng.random() < 0.05 else None
        created = (NOW - timedelta(seconds=count - n)).strftime("%Y-%m-%d %H:%M:%S.000000")
        yield (
            hexid(n, 1),
            f"user_{n}",
            f"user{n}@example.com",
            orjson.dumps(traits).decode(),
            account,
            unsub,
            created,
        )


def account_rows(count: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    for n in range(count):
        traits = {
            "plan": rng.choice(PLANS),
            "seats": rng.randint(1, 500),
            "industry": rng.choice(INDUSTRIES),
        }
        yield hexid(n, 2), f"acct_{n}", f"Account {n}", orjson.dumps(traits).decode()


def event_rows(count: int, contacts: int, rng: random.Random) -> Iterator[tuple[str, ...]]:
    minutes = [(NOW - timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M") for m in range(525_600)]
    contact_ids = [hexid(n, 1) for n in range(contacts)]
    for n in range(count):
        at = f"{rng.choice(minutes)}:{rng.randrange(60):02d}.000000"
        yield hexid(n, 3), rng.choice(EVENT_NAMES), rng.choice(contact_ids), at


def _seed_project(db: Database) -> None:
    with db.session() as session:
        session.add(Workspace(id=WORKSPACE_ID, name="bench"))
        session.flush()
        session.add(
            Project(
                id=PROJECT_ID,
                workspace_id=WORKSPACE_ID,
                slug="bench",
                name="Bench",
                assigned_subdomain="bench",
            )
        )


BULK_TABLES = [Account.__table__, Contact.__table__, Event.__table__]


def _drop_bulk_indexes(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in BULK_TABLES:
            for index in table.indexes:  # type: ignore[attr-defined]
                index.drop(conn)


def _create_bulk_indexes(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in BULK_TABLES:
            for index in table.indexes:  # type: ignore[attr-defined]
                started = time.perf_counter()
                index.create(conn)
                print(f"  index {index.name}: {time.perf_counter() - started:.1f}s", flush=True)


def load_sqlite(path: Path, contacts: int, events: int) -> None:
    db = Database(make_engine(f"sqlite:///{path}"))
    Base.metadata.create_all(db.engine)
    _seed_project(db)
    _drop_bulk_indexes(db.engine)
    db.engine.dispose()
    rng = random.Random(7)
    pid = PROJECT_ID.hex
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    conn.execute("BEGIN")
    ts = NOW.strftime("%Y-%m-%d %H:%M:%S.000000")
    conn.executemany(
        "INSERT INTO accounts (id, project_id, external_id, name, traits, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        ((i, pid, e, n, t, ts, ts) for i, e, n, t in account_rows(max(1, contacts // 10), rng)),
    )
    conn.executemany(
        "INSERT INTO contacts (id, project_id, external_id, email, traits, account_id, "
        "unsubscribed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (i, pid, x, e, t, a, u, c, c)
            for i, x, e, t, a, u, c in contact_rows(contacts, max(1, contacts // 10), rng)
        ),
    )
    conn.executemany(
        "INSERT INTO events (id, project_id, name, properties, contact_id, occurred_at, "
        "created_at) VALUES (?, ?, ?, '{}', ?, ?, ?)",
        ((i, pid, n, c, at, at) for i, n, c, at in event_rows(events, contacts, rng)),
    )
    conn.execute("COMMIT")
    conn.close()
    engine = make_engine(f"sqlite:///{path}")
    _create_bulk_indexes(engine)
    with engine.begin() as c:
        c.exec_driver_sql("ANALYZE")
    engine.dispose()


def _copy(cur: Any, table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> None:
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buffer: list[str] = []
        for row in rows:
            buffer.append("\t".join("\\N" if v is None else str(v) for v in row))
            if len(buffer) >= 50_000:
                copy.write("\n".join(buffer) + "\n")
                buffer.clear()
        if buffer:
            copy.write("\n".join(buffer) + "\n")


def load_postgres(url: str, contacts: int, events: int) -> None:
    db = Database(make_engine(url))
    Base.metadata.create_all(db.engine)
    _seed_project(db)
    _drop_bulk_indexes(db.engine)
    rng = random.Random(7)
    pid = PROJECT_ID.hex
    ts = NOW.strftime("%Y-%m-%d %H:%M:%S.000000+00")
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        _copy(
            cur,
            "accounts",
            "id, project_id, external_id, name, traits, created_at, updated_at",
            ((i, pid, e, n, t, ts, ts) for i, e, n, t in account_rows(max(1, contacts // 10), rng)),
        )
        _copy(
            cur,
            "contacts",
            "id, project_id, external_id, email, traits, account_id, "
            "unsubscribed_at, created_at, updated_at",
            (
                (i, pid, x, e, t, a, u and u + "+00", c + "+00", c + "+00")
                for i, x, e, t, a, u, c in contact_rows(contacts, max(1, contacts // 10), rng)
            ),
        )
        _copy(
            cur,
            "events",
            "id, project_id, name, properties, contact_id, occurred_at, created_at",
            (
                (i, pid, n, "{}", c, at + "+00", at + "+00")
                for i, n, c, at in event_rows(events, contacts, rng)
            ),
        )
        raw.commit()
    finally:
        raw.close()
    _create_bulk_indexes(db.engine)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    db.engine.dispose()


def pg_database(base_url: str, name: str, contacts: int, events: int) -> str:
    url = make_url(base_url).set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    target = url.set(database=name).render_as_string(hide_password=False)
    if exists:  # reuse only a complete load (indexes are built last)
        with create_engine(target).connect() as conn:
            exists = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_indexes WHERE tablename = 'events'"
                    " AND indexname LIKE 'ix_%'"
                )
            )
    with admin.connect() as conn:
        if not exists:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    if not exists:
        print(f"generating PostgreSQL {name} ...", flush=True)
        started = time.perf_counter()
        load_postgres(target, contacts, events)
        print(f"  loaded in {time.perf_counter() - started:.0f}s", flush=True)
    return target


def time_filters(db: Database, repeat: int) -> dict[str, float]:
    medians = {}
    with db.session() as session:
        for label, raw in FILTERS.items():
            matches, total = service.preview(session, PROJECT_ID, raw)  # warm-up
            runs, cpu = [], []
            for _ in range(repeat):
                started, started_cpu = time.perf_counter(), time.thread_time()
                service.preview(session, PROJECT_ID, raw)
                runs.append((time.perf_counter() - started) * 1000)
                cpu.append((time.thread_time() - started_cpu) * 1000)
            medians[label] = statistics.median(runs)
            # SQLite runs in this thread, so its CPU time is measurable (and less
            # sensitive to other load on the machine than the wall clock)
            cpu_note = f" (cpu {statistics.median(cpu):.0f} ms)" if db.dialect == "sqlite" else ""
            print(
                f"  {medians[label]:8.1f} ms{cpu_note}  {label}  ({matches:,} of {total:,})",
                flush=True,
            )
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LETTER_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print("machine: " + describe(f"SQLite {sqlite3.sqlite_version}"))
    print(f"audience: {args.contacts:,} contacts, {args.events:,} events")
    if args.db in ("sqlite", "both"):
        OUT.mkdir(exist_ok=True)
        path = OUT / f"segments-{args.contacts}-{args.events}.db"
        if not path.exists():
            print(f"generating {path} ...", flush=True)
            started = time.perf_counter()
            partial = path.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            load_sqlite(partial, args.contacts, args.events)
            partial.rename(path)
            print(f"  loaded in {time.perf_counter() - started:.0f}s", flush=True)
        print("SQLite preview medians:")
        time_filters(Database(make_engine(f"sqlite:///{path}")), args.repeat)
    if args.db in ("postgresql", "both"):
        name = f"letter_bench_segments_{args.contacts}_{args.events}"
        url = pg_database(args.pg_url, name, args.contacts, args.events)
        with create_engine(make_url(url).set(drivername="postgresql+psycopg")).connect() as c:
            print(f"PostgreSQL {c.scalar(text('SHOW server_version'))} preview medians:")
        time_filters(Database(make_engine(url)), args.repeat)


if __name__ == "__main__":
    main()
