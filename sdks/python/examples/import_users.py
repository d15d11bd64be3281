"""One-shot backfill of existing users and their workspaces into Letter.

Reads users in id order from a CSV file or a SQLite database, sends an
``identify`` per user and a ``group`` per user with a workspace, one page at a
time, and writes a checkpoint after every page that was fully delivered. Kill
it, restart it, and it picks up after the last checkpointed page; delete the
checkpoint file to start over. Re-running is safe: identify and group upsert,
traits deep-merge, and stable message ids (``import:identify:<id>``,
``import:group:<id>:<accountId>``) let the server dedupe repeated calls.

Everything is sent with ``skip_triggers=True``: importing contacts never
enrols anyone in a sequence.

    export LETTER_API_KEY=lt_live_...            # Settings -> API keys
    export LETTER_API_URL=http://localhost:8300  # when self-hosting (optional)
    python import_users.py --source users.db --dry-run | head -50
    python import_users.py --source users.db

Adapt ``SqliteSource``/``CsvSource`` (or add your own with the same ``pages``
method) to read from your database. Rows must come in a stable id order; the
checkpoint stores the last id of the last delivered page.

Exit codes: 0 everything delivered; 1 delivery failed (the checkpoint stays at
the last delivered page: fix the cause and run again to resume); 2 bad usage,
configuration or source; 3 finished, but the server rejected some items
(listed on stderr); 130 interrupted.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sqlite3
import sys
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional

try:
    from letterapp import Letter, LetterError
except ImportError:  # running from a checkout of the SDK without installing it
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from letterapp import Letter, LetterError

CHECKPOINT = ".letter-import-checkpoint.json"
PAGE_SIZE = 100

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REJECTED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class Workspace(NamedTuple):
    id: str
    name: str
    mrr: Optional[float]


class SourceUser(NamedTuple):
    id: str
    email: str
    name: Optional[str]
    plan: str
    signup_at: str  # ISO-8601
    workspace: Optional[Workspace]


class SourceError(Exception):
    """The source cannot be read as expected."""


def _user(row: Dict[str, Any]) -> SourceUser:
    def text(key: str) -> Optional[str]:
        value = row.get(key)
        return None if value is None or value == "" else str(value)

    user_id, email = text("id"), text("email")
    if user_id is None or email is None:
        raise SourceError("a row without id or email: %r" % (row,))
    workspace = None
    workspace_id = text("workspace_id")
    if workspace_id is not None:
        mrr = text("workspace_mrr")
        workspace = Workspace(
            workspace_id,
            text("workspace_name") or workspace_id,
            None if mrr is None else float(mrr),
        )
    return SourceUser(
        id=user_id,
        email=email,
        name=text("name"),
        plan=text("plan") or "free",
        signup_at=text("signup_at") or "",
        workspace=workspace,
    )


class SqliteSource:
    """A ``users`` table, read with keyset pagination (``WHERE id > ? ORDER BY id``)."""

    QUERY = (
        "SELECT id, email, name, plan, signup_at, workspace_id, workspace_name, workspace_mrr"
        " FROM users WHERE ? IS NULL OR id > ? ORDER BY id LIMIT ?"
    )

    def __init__(self, path: Path) -> None:
        try:
            self.connection = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
            self.connection.row_factory = sqlite3.Row
            self.connection.execute("SELECT 1 FROM users LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise SourceError("cannot read a users table from %s: %s" % (path, exc)) from exc

    def pages(self, after: Optional[str], size: int) -> Iterator[List[SourceUser]]:
        while True:
            rows = self.connection.execute(self.QUERY, (after, after, size)).fetchall()
            if not rows:
                return
            page = [_user(dict(row)) for row in rows]
            yield page
            after = page[-1].id


class CsvSource:
    """A CSV file with a header row, sorted by id (checked while reading)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise SourceError("no such file: %s" % path)

    def pages(self, after: Optional[str], size: int) -> Iterator[List[SourceUser]]:
        with self.path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "id" not in reader.fieldnames:
                raise SourceError("%s has no header row with an id column" % self.path)
            page: List[SourceUser] = []
            previous: Optional[str] = None
            for row in reader:
                user = _user(row)
                if previous is not None and user.id <= previous:
                    raise SourceError(
                        "%s is not sorted by id (%r comes after %r, line %d)"
                        % (self.path, user.id, previous, reader.line_num)
                    )
                previous = user.id
                if after is not None and user.id <= after:
                    continue  # delivered before the checkpoint
                page.append(user)
                if len(page) == size:
                    yield page
                    page = []
            if page:
                yield page


def open_source(path: Path) -> Any:
    if path.suffix.lower() == ".csv":
        return CsvSource(path)
    if path.suffix.lower() in (".db", ".sqlite", ".sqlite3"):
        if not path.is_file():
            raise SourceError("no such file: %s" % path)
        return SqliteSource(path)
    raise SourceError("unknown source type %r: use a .csv file or a .db SQLite file" % str(path))


def load_checkpoint(path: Path) -> Dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"cursor": None, "processed": 0}
    except ValueError as exc:
        message = "unreadable checkpoint %s: %s (delete it to start over)" % (path, exc)
        raise SourceError(message) from exc
    if not isinstance(data, dict) or not isinstance(data.get("cursor"), (str, type(None))):
        raise SourceError("unexpected checkpoint content in %s (delete it to start over)" % path)
    data.setdefault("processed", 0)
    return data


def save_checkpoint(path: Path, cursor: str, processed: int, source: Path) -> None:
    """Atomically replace the checkpoint (a crash never leaves half a file)."""
    data = {
        "cursor": cursor,
        "processed": processed,
        "source": str(source),
        "updated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=str(directory))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, str(path))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Failures:
    """on_error callback: delivery failures stop the import; rejected items are listed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failed: List[str] = []
        self.rejected = 0

    def __call__(self, error: LetterError, items: List[Dict[str, Any]]) -> None:
        with self.lock:
            data_problem = error.status is None and error.code in (
                "bad_request",
                "payload_too_large",
            )
            if error.status == 200 or data_problem:  # this item is refused; the rest landed
                self.rejected += len(items)
                for item in items:
                    print(
                        "[letter] rejected %s: %s" % (item.get("message_id"), error),
                        file=sys.stderr,
                    )
            else:
                self.failed.append("%s (%d items)" % (error, len(items)))


def send_page(letter: Letter, page: List[SourceUser], failures: Failures, timeout: float) -> bool:
    for user in page:
        letter.identify(
            user_id=user.id,
            email=user.email,
            traits={"name": user.name, "plan": user.plan, "signup_at": user.signup_at},
            timestamp=user.signup_at or None,
            # Stable message ids per source row keep re-runs cheap on the wire.
            message_id="import:identify:%s" % user.id,
        )
        if user.workspace is not None:
            letter.group(
                user_id=user.id,
                account_id=user.workspace.id,
                name=user.workspace.name,
                traits={"mrr": user.workspace.mrr},
                message_id="import:group:%s:%s" % (user.id, user.workspace.id),
            )
    if not letter.flush(timeout=timeout):
        failures.failed.append("the page was not delivered within %.0f s" % timeout)
    return not failures.failed


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Backfill users and workspaces into Letter (LETTER_API_KEY, LETTER_API_URL).",
    )
    parser.add_argument("--source", required=True, type=Path, help="users.csv or users.db")
    parser.add_argument("--dry-run", action="store_true", help="print what would be imported")
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE, help="users per page")
    parser.add_argument("--checkpoint", type=Path, default=Path(CHECKPOINT))
    parser.add_argument("--max-retries", type=int, default=5, help="retries per batch")
    parser.add_argument(
        "--page-timeout", type=float, default=300.0, help="seconds to deliver one page"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.page_size <= 5000:
        parser.error("--page-size must be between 1 and 5000")
    if args.max_retries < 0 or args.page_timeout <= 0:
        parser.error("--max-retries must be >= 0 and --page-timeout > 0")
    return args


def run(args: argparse.Namespace) -> int:
    try:
        source = open_source(args.source)
        state = load_checkpoint(args.checkpoint)
    except SourceError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    cursor: Optional[str] = state["cursor"]
    processed = int(state["processed"])
    if cursor is not None:
        print("resuming after id %s (%d already imported)" % (cursor, processed), flush=True)

    if args.dry_run:
        count = 0
        try:
            for page in source.pages(cursor, args.page_size):
                for user in page:
                    print("would import", user.id, user.email)
                count += len(page)
        except SourceError as exc:
            print("error: %s" % exc, file=sys.stderr)
            return EXIT_USAGE
        print("dry run: %d contacts would be imported; nothing was sent." % count)
        return EXIT_OK

    failures = Failures()
    try:
        letter = Letter(
            api_key=os.environ.get("LETTER_API_KEY", ""),
            base_url=os.environ.get("LETTER_API_URL") or "https://api.letter.app",
            flush_at=2 * args.page_size,  # one batch per page (identify + group)
            max_queue_size=max(10000, 2 * args.page_size + 1),
            max_retries=args.max_retries,  # ride out transient 5xx / 429
            skip_triggers=True,  # a backfill never enrols anyone
            on_error=failures,
        )
    except LetterError as exc:
        print("error: %s (set LETTER_API_KEY / LETTER_API_URL)" % exc, file=sys.stderr)
        return EXIT_USAGE

    try:
        for page in source.pages(cursor, args.page_size):
            if not send_page(letter, page, failures, args.page_timeout):
                print(
                    "[letter] delivery failed: %s" % "; ".join(failures.failed[:3]),
                    file=sys.stderr,
                )
                where = "at id %s" % cursor if cursor is not None else "not written yet"
                print(
                    "stopped. %d contacts imported; the checkpoint is %s. "
                    "Fix the cause and run again to resume." % (processed, where),
                    file=sys.stderr,
                )
                letter.close(timeout=5)
                return EXIT_FAILED
            cursor = page[-1].id
            processed += len(page)
            save_checkpoint(args.checkpoint, cursor, processed, args.source)
            print("imported %d" % processed, flush=True)
    except SourceError as exc:
        print("error: %s" % exc, file=sys.stderr)
        letter.close(timeout=args.page_timeout)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; the checkpoint is at id %s." % cursor, file=sys.stderr)
        letter.close(timeout=5)
        return EXIT_INTERRUPTED
    letter.close(timeout=args.page_timeout)
    print("done. %d contacts processed." % processed)
    if failures.rejected:
        print("%d items were rejected by the server (see above)." % failures.rejected)
        return EXIT_REJECTED
    return EXIT_OK


def main(argv: Optional[List[str]] = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
