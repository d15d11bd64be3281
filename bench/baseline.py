"""The database's own ceiling for ingestion, measured in the same run.

A bare ``executemany`` upsert of the same contact rows a benchmark sent (one
row per contact: id, project, external id, email, traits, timestamps) into a
copy of the ``contacts`` table with the same indexes, in the benchmark's own
database, chunks of 100 rows a transaction. Figures are reported as a ratio to
it, since the machine is shared and absolute rates drift with its load.

>>> rate = bare_upsert_rate(env, data_dir, 100_000)       # doctest: +SKIP
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

CHUNK = 100
TABLE = "bench_baseline"


def _rows(n: int, sqlite: bool) -> list[tuple[Any, ...]]:
    project = uuid.uuid4()
    now = datetime.now(UTC)
    at: Any = f"{now:%Y-%m-%d %H:%M:%S.%f}" if sqlite else now
    rows = []
    for i in range(n):
        traits = orjson.dumps(
            {
                "name": f"User {i}",
                "plan": "pro" if i % 3 else "free",
                "signup_at": "2025-01-01T00:00:00Z",
            }
        ).decode()
        row_id: Any = uuid.uuid4().hex if sqlite else uuid.uuid4()
        pid: Any = project.hex if sqlite else project
        email = f"user{i}@example.com"
        rows.append((row_id, pid, f"user_{i}", email, email, traits, at, at))
    return rows


COLUMNS = "id, project_id, external_id, email, email_key, traits, created_at, updated_at"
UPSERT = (
    f"INSERT INTO {TABLE} ({COLUMNS}) VALUES ({{marks}}) "
    "ON CONFLICT (project_id, external_id) DO UPDATE SET "
    "traits = excluded.traits, email = excluded.email, updated_at = excluded.updated_at"
)


def _sqlite(path: Path, rows: list[tuple[Any, ...]]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM contacts WHERE 0")
        conn.execute(f"CREATE UNIQUE INDEX {TABLE}_key ON {TABLE} (project_id, external_id)")
        conn.execute(f"CREATE INDEX {TABLE}_created ON {TABLE} (project_id, created_at, id)")
        conn.execute(f"CREATE INDEX {TABLE}_email ON {TABLE} (project_id, email_key)")
        conn.execute(f"CREATE INDEX {TABLE}_account ON {TABLE} (project_id, account_id)")
        sql = UPSERT.format(marks=", ".join("?" * 8))
        started = time.perf_counter()
        for start in range(0, len(rows), CHUNK):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows[start : start + CHUNK])
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.execute(f"DROP TABLE {TABLE}")
        return elapsed
    finally:
        conn.close()


def _postgresql(url: str, rows: list[tuple[Any, ...]]) -> float:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} (LIKE contacts INCLUDING DEFAULTS INCLUDING INDEXES)")
        conn.commit()
        sql = UPSERT.format(marks=", ".join(["%s"] * 5 + ["%s::jsonb", "%s", "%s"]))
        started = time.perf_counter()
        with conn.cursor() as cur:
            for start in range(0, len(rows), CHUNK):
                cur.executemany(sql, rows[start : start + CHUNK])
                conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute(f"DROP TABLE {TABLE}")
        conn.commit()
        return elapsed


def bare_upsert_rate(env: dict[str, str], data_dir: Path, n: int) -> float:
    """Rows/s of a bare executemany upsert of ``n`` contact rows, in the
    database ``env`` points the server at (its SQLite file otherwise)."""
    url = env.get("LETTER_DATABASE_URL")
    rows = _rows(n, sqlite=not url)
    elapsed = _postgresql(url, rows) if url else _sqlite(data_dir / "letter.db", rows)
    return n / elapsed
