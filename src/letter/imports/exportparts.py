"""An export written in parts: keyset ranges of the matching contacts, each
to a file of its own, by the worker and by a child process at once.

Shaped by bench/export.py (DESIGN §8: >= 100,000 rows/s): reading a
contact and making its cells costs about 13 µs of Python, so one process
cannot reach the target on this machine class; two can. The ranges come
from ``boundaries`` as they are needed, so the child starts working while
the rest of the export is still being cut into ranges. A range's file holds
its rows under the trait columns it had seen when it wrote them (see
``Part``); ``letter.imports.exporting`` merges the parts in order.

    >>> with Parts.start(db, project_id, params, now, base, span=20_000) as parts:
    ...     written = parts.run()                        # doctest: +SKIP
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from letter.db.engine import Database
from letter.imports.csvout import writer
from letter.imports.exportpages import Keyset, boundaries, pages
from letter.imports.frames import read_frame, spawn, write_frame

__all__ = ["PAGE", "SPAN", "Part", "Parts", "child_main", "write_part"]

PAGE = 5000
SPAN = 20_000  # contacts a range: a few tenths of a second of work


@dataclass(frozen=True)
class Part:
    """One range's rows in ``path``. ``keys`` are its trait columns in the
    order it met them; from ``segments[i][0]`` (a byte offset) on, rows
    carry the first ``segments[i][1]`` of them."""

    path: Path
    count: int
    keys: list[str]
    segments: list[tuple[int, int]]
    pid: int = field(default_factory=os.getpid)


@dataclass(frozen=True)
class _Task:
    project_id: uuid.UUID
    params: dict[str, Any]
    now: datetime
    after: Keyset | None
    until: Keyset | None
    path: Path


class PartFailed(RuntimeError):
    """The child process writing a part stopped on an error."""


def write_part(db: Database, task: _Task) -> Part:
    """The range's contacts as CSV rows (without a header) in ``task.path``."""
    keys: list[str] = []
    known: set[str] = set()
    segments: list[tuple[int, int]] = []
    count = 0
    get = dict.get
    with task.path.open("wb") as raw, io.TextIOWrapper(raw, encoding="utf-8",
                                                      newline="") as body:
        out = writer(body)
        for rows in pages(db, task.project_id, task.params, task.now, PAGE, task.after,
                          task.until):
            fresh = set().union(*rows.traits) - known
            if fresh or not segments:
                keys += sorted(fresh)
                known |= fresh
                body.flush()
                segments.append((raw.tell(), len(keys)))
            # Column by column, without a Python step per cell: a trait a
            # contact lacks is None from dict.get, which csv writes empty.
            traits = [list(map(get, rows.traits, repeat(key))) for key in keys]
            out.writerows(zip(*rows.head, *traits, *rows.tail, strict=True))
            count += len(rows)
    return Part(task.path, count, keys, segments)


class _Ranges:
    """The export's keyset ranges, cut one ``boundaries`` step at a time by
    whichever writer asks next."""

    def __init__(self, bounds: Iterator[Keyset], first: list[Keyset]) -> None:
        self._bounds, self._ahead = bounds, first
        self._last: Keyset | None = None
        self._index = 0
        self._done = False
        self._lock = threading.Lock()

    def next(self) -> tuple[int, Keyset | None, Keyset | None] | None:
        with self._lock:
            if self._done:
                return None
            until = self._ahead.pop(0) if self._ahead else next(self._bounds, None)
            after, self._last = self._last, until
            self._done = until is None
            self._index += 1
            return self._index - 1, after, until

    def stop(self) -> None:
        with self._lock:
            self._done = True


class Parts:
    """The writers of one export: this process, and a child process when the
    export spans more than two ranges and the database is shared."""

    def __init__(self, db: Database, task: _Task, ranges: _Ranges, shared_url: str | None
                 ) -> None:
        self.db, self.task, self.ranges = db, task, ranges
        self.written: dict[int, Part] = {}
        self._failure: BaseException | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._feeder: threading.Thread | None = None
        if shared_url is not None:
            self._child = _start_child(shared_url)
            self._feeder = threading.Thread(target=self._feed, name="export-part-feeder",
                                            daemon=True)

    @classmethod
    def start(cls, db: Database, project_id: uuid.UUID, params: dict[str, Any],
              now: datetime, base: Path, *, span: int = SPAN, processes: int | None = None
              ) -> Parts:
        """``processes``: writers at most (None: one a core, up to two)."""
        task = _Task(project_id, params, now, None, None, base)
        bounds = boundaries(db, project_id, params, now, span)
        first = [b for b in (next(bounds, None), next(bounds, None)) if b is not None]
        wanted = min(os.cpu_count() or 1, 2) if processes is None else processes
        shared = _shared_url(db) if wanted > 1 and len(first) == 2 else None
        return cls(db, task, _Ranges(bounds, first), shared)

    def __enter__(self) -> Parts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.ranges.stop()
        if self._child is not None:
            # Killed, not asked to stop: an orderly exit (its interpreter's
            # shutdown) takes about 0.3 s. It is idle between tasks, so its
            # database connection holds no transaction and closes quietly.
            if self._child.poll() is None:
                self._child.kill()
            self._child.wait()
            for pipe in (self._child.stdin, self._child.stdout):
                if pipe is not None:
                    pipe.close()
        if self._feeder is not None and self._feeder.is_alive():
            self._feeder.join()

    def run(self) -> list[Part]:
        """Every range written, in keyset order."""
        if self._feeder is not None:
            self._feeder.start()
        try:
            while (taken := self.ranges.next()) is not None:
                index, after, until = taken
                self.written[index] = write_part(self.db, self._task_for(index, after, until))
        except BaseException:
            self.ranges.stop()
            raise
        if self._feeder is not None:
            self._feeder.join()
        if self._failure is not None:
            raise self._failure
        return [self.written[i] for i in sorted(self.written)]

    def _task_for(self, index: int, after: Keyset | None, until: Keyset | None) -> _Task:
        t = self.task
        return _Task(t.project_id, t.params, t.now, after, until,
                     t.path.with_name(f"{t.path.name}.{index}"))

    def _feed(self) -> None:
        child = self._child
        assert child is not None and child.stdin is not None and child.stdout is not None
        try:
            while (taken := self.ranges.next()) is not None:
                index = taken[0]
                write_frame(child.stdin, self._task_for(*taken))
                result = read_frame(child.stdout)
                if result is None:
                    raise PartFailed(f"the export's part writer exited ({child.wait()})")
                if isinstance(result, BaseException):
                    raise result
                self.written[index] = result
        except BaseException as exc:
            self._failure = exc
            self.ranges.stop()


def _shared_url(db: Database) -> str | None:
    """The database's URL if another process can open the same database and
    see what this one sees (not through one connection's open transaction)."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    session = db.new_session()
    try:
        if isinstance(session.get_bind(), Connection):
            return None
    finally:
        session.close()
    return url.render_as_string(hide_password=False)


def _start_child(url: str) -> subprocess.Popen[bytes]:
    child = spawn("letter.imports.export_child")
    assert child.stdin is not None
    write_frame(child.stdin, url)
    return child


def child_main() -> None:
    """``python -m letter.imports.export_child``: the database URL, then one
    task a frame on stdin; a ``Part`` (or the error) a frame on stdout. When
    the worker dies its pipe closes and the child stops."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    db = Database.from_url(read_frame(stdin))
    try:
        while (task := read_frame(stdin)) is not None:
            try:
                result: Any = write_part(db, task)
            except LookupError as exc:  # the export's segment was deleted: the job fails
                result = exc
            except Exception as exc:
                result = PartFailed(f"{type(exc).__name__}: {exc}")
            write_frame(stdout, result)
    except BrokenPipeError:
        return
    finally:
        db.engine.dispose()
