"""The child process that parses large files yields exactly the chunks the
in-process parser yields, and a failure in it is an error, not a hang."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from letter.imports.mapping import Plan
from letter.imports.pipeline import FileSpec, ParseFailed, chunks

SPEC = FileSpec(uuid.UUID(int=1), uuid.UUID(int=2), "utf-8", ",",
                Plan(email=0, external_id=1, traits=[(2, ("plan",))], width=3), True)


def comparable(found):
    # Ids are made when a chunk is parsed: compare everything else.
    return [([row[1:] for row in c.rows], c.errors, c.end, c.line, c.done) for c in found]


def test_the_child_and_the_worker_parse_alike(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    body = "".join(f"user{i}@example.com,u{i},\"p\n{i}\"\n" if i % 7 else f"bad{i},u{i},x\n"
                   for i in range(2500))
    path.write_text("email,id,plan\n" + body)
    start = len("email,id,plan\n")
    here = list(chunks(path, SPEC, start, 2, 1000, parallel=False))
    there = list(chunks(path, SPEC, start, 2, 1000, parallel=True))
    assert comparable(there) == comparable(here)
    assert [c.done for c in here] == [False, False, True]
    assert sum(len(c.rows) + len(c.errors) for c in here) == 2500


def test_a_failure_in_the_child_is_raised(tmp_path: Path) -> None:
    with pytest.raises(ParseFailed, match="FileNotFoundError"):
        list(chunks(tmp_path / "missing.csv", SPEC, 0, 1, 10, parallel=True))
