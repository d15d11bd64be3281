"""Write a sample user table for ``import_users.py`` to practise on.

    python make_source.py --rows 1000 users.db     # SQLite
    python make_source.py --rows 1000 users.csv    # CSV, sorted by id

Columns: id, email, name, plan, signup_at, workspace_id, workspace_name,
workspace_mrr (the three workspace columns are empty for users without one).
Ids are zero-padded (``usr_000001``) so that text order is id order.
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, List, Optional

COLUMNS = [
    "id",
    "email",
    "name",
    "plan",
    "signup_at",
    "workspace_id",
    "workspace_name",
    "workspace_mrr",
]
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson"]
PLANS = ["free", "free", "free", "pro", "pro", "team"]


def rows(count: int, seed: int) -> Iterator[List[Optional[str]]]:
    rng = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=timezone.utc)
    for n in range(1, count + 1):
        signup = start + timedelta(minutes=rng.randrange(60 * 24 * 700))
        name: Optional[str] = "%s %s" % (rng.choice(FIRST), rng.choice(LAST))
        if rng.random() < 0.1:
            name = None
        workspace = n // 3 if rng.random() < 0.7 else None
        yield [
            "usr_%06d" % n,
            "user%06d@example.com" % n,
            name,
            rng.choice(PLANS),
            signup.strftime("%Y-%m-%dT%H:%M:%SZ"),
            None if workspace is None else "ws_%05d" % workspace,
            None if workspace is None else "Workspace %d" % workspace,
            None if workspace is None else str(rng.choice([0, 19, 49, 99, 249])),
        ]


def write_csv(path: Path, count: int, seed: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows(count, seed):
            writer.writerow(["" if value is None else value for value in row])


def write_sqlite(path: Path, count: int, seed: int) -> None:
    if path.exists():
        path.unlink()
    connection = sqlite3.connect(str(path))
    with connection:
        connection.execute(
            "CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL, name TEXT,"
            " plan TEXT NOT NULL, signup_at TEXT NOT NULL, workspace_id TEXT,"
            " workspace_name TEXT, workspace_mrr INTEGER)"
        )
        connection.executemany(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ([*row[:7], None if row[7] is None else int(row[7])] for row in rows(count, seed)),
        )
    connection.close()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Write a sample source for import_users.py.")
    parser.add_argument("output", help="users.csv or users.db (.sqlite/.sqlite3 too)")
    parser.add_argument("--rows", type=int, default=1000, help="number of users (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must be >= 0")
    path = Path(args.output)
    if path.suffix.lower() == ".csv":
        write_csv(path, args.rows, args.seed)
    elif path.suffix.lower() in (".db", ".sqlite", ".sqlite3"):
        write_sqlite(path, args.rows, args.seed)
    else:
        parser.error("the output must end in .csv, .db, .sqlite or .sqlite3")
    print("wrote %d users to %s" % (args.rows, path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
