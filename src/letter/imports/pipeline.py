"""Parsed chunks of an import file, from a saved offset: read, decoded,
split into records and checked row by row, ready to apply.

A large file is parsed in a child process while the worker writes the
previous chunk, so the two cores share the work (DESIGN §8: parsing in a
separate process from writing is allowed). The child only reads the file:
every write, and the saved offset, stay with the worker, so killing either
process loses nothing but the chunk in flight.

>>> for chunk in chunks(path, spec, offset, line, rows=2000):   # doctest: +SKIP
...     apply(chunk.rows, chunk.errors); save(chunk.end, chunk.line)
"""

from __future__ import annotations

import pickle
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from letter.imports.csvfile import RecordReader, raw_text
from letter.imports.frames import read_frame, spawn, write_frame
from letter.imports.mapping import Plan
from letter.imports.rows import ContactRow, WireRow, row_parser, to_wire

__all__ = ["PARALLEL_MIN_BYTES", "Chunk", "FileSpec", "child_main", "chunks"]

# Below this many bytes left to read, a child process costs more than it saves.
PARALLEL_MIN_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class FileSpec:
    """How to read one import's file."""

    import_id: uuid.UUID
    project_id: uuid.UUID
    encoding: str
    delimiter: str
    plan: Plan
    has_header: bool


@dataclass(frozen=True)
class Chunk:
    rows: list[WireRow]
    errors: list[dict[str, Any]]  # import_errors rows
    end: int  # byte offset after the chunk
    line: int  # line number after the chunk
    done: bool  # the chunk ends the file


class ParseFailed(RuntimeError):
    """The child process parsing the file stopped on an error."""


def _produce(path: Path, spec: FileSpec, offset: int, line: int, rows: int) -> Iterator[Chunk]:
    parse = row_parser(spec.plan, strict_width=spec.has_header)
    with path.open("rb") as fh:
        reader = RecordReader(fh, offset=offset, line=line, encoding=spec.encoding,
                              delimiter=spec.delimiter)
        records = iter(reader)
        fd = fh.fileno()
        while True:
            good: list[ContactRow] = []
            errors: list[dict[str, Any]] = []
            taken = 0
            for record in islice(records, rows):
                taken += 1
                result = (record.problem or "unreadable row") if record.fields is None \
                    else parse(record.fields)
                if isinstance(result, str):
                    errors.append({"project_id": spec.project_id, "import_id": spec.import_id,
                                   "line": record.line, "reason": result,
                                   "raw": raw_text(fd, record.start, record.end,
                                                   spec.encoding)})
                else:
                    good.append(result)
            done = taken < rows
            yield Chunk(to_wire(good), errors, reader.offset, reader.next_line, done)
            if done:
                return


def child_main() -> None:
    """``python -m letter.imports.parse_child``: the arguments arrive pickled on
    stdin, the chunks leave as length-prefixed pickles on stdout. When the
    worker dies the pipe breaks and the child stops."""
    args = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    try:
        for chunk in _produce(*args):
            write_frame(out, chunk)
    except BrokenPipeError:
        return
    except Exception as exc:
        write_frame(out, ParseFailed(f"{type(exc).__name__}: {exc}"))


def _in_child(path: Path, spec: FileSpec, offset: int, line: int, rows: int
              ) -> Iterator[Chunk]:
    child = spawn("letter.imports.parse_child")
    assert child.stdin is not None and child.stdout is not None
    try:
        pickle.dump((path, spec, offset, line, rows), child.stdin)
        child.stdin.close()
        while True:
            item = read_frame(child.stdout)
            if item is None:
                raise ParseFailed(f"the parsing process exited ({child.wait()})")
            if isinstance(item, ParseFailed):
                raise item
            yield item
            if item.done:
                return
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()


def chunks(path: Path, spec: FileSpec, offset: int, line: int, rows: int,
           *, parallel: bool | None = None) -> Iterator[Chunk]:
    """The file's chunks from ``offset`` (a record boundary on line ``line``)."""
    if parallel is None:
        parallel = path.stat().st_size - offset >= PARALLEL_MIN_BYTES
    if parallel:
        return _in_child(path, spec, offset, line, rows)
    return _produce(path, spec, offset, line, rows)
