"""Reading the files people actually have: an encoding (UTF-8 with or without
a BOM, else Windows-1252), a delimiter (``,`` ``;`` tab ``|``), a header row
or none, quoted newlines, ragged rows — and every record with the line it
starts on and the byte offsets around it, so an import can resume at a
record boundary and quote a bad row exactly as it was written.

>>> sniff(b"email;plan\\nada@example.com;pro\\n").delimiter
';'
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "BOM",
    "DELIMITERS",
    "Record",
    "RecordReader",
    "Sample",
    "count_records",
    "decode_line",
    "not_text_reason",
    "raw_text",
    "sniff",
    "utf8_checker",
]

BOM = codecs.BOM_UTF8
DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 64 * 1024
SAMPLE_RECORDS = 50
# A cell may be large (a pasted document); past this the csv module refuses the
# field and the row becomes a row error. The limit is process-wide: raise only.
MAX_FIELD = 16 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD))
# A rejected row is quoted in the error report up to this many bytes.
MAX_RAW = 10_000


def decode_line(raw: bytes, encoding: str) -> tuple[str, bool]:
    """The line as text, and whether it decoded cleanly (Windows-1252 leaves
    five bytes undefined, so binary garbage fails even there)."""
    try:
        return raw.decode(encoding), True
    except UnicodeDecodeError:
        return raw.decode(encoding, "replace"), False


def utf8_checker() -> codecs.IncrementalDecoder:
    """Feed it the file in chunks: ``UnicodeDecodeError`` means not UTF-8."""
    return codecs.getincrementaldecoder("utf-8")()


def not_text_reason(head: bytes) -> str | None:
    """Why the first bytes of an upload are not a CSV text file, if they are not."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "The file is UTF-16 text; save it as CSV UTF-8 and upload it again."
    if b"\x00" in head:
        return "The file is not CSV text (it contains binary data); upload a .csv file."
    return None


@dataclass(frozen=True, slots=True)
class Record:
    """One record: the line it starts on, its byte span, its fields (None
    when the csv module refused it, ``problem`` saying why)."""

    line: int
    start: int
    end: int
    fields: list[str] | None
    problem: str | None = None


def _problem(exc: csv.Error) -> str:
    if "new-line character" in str(exc):
        return "unreadable CSV: a bare carriage return inside an unquoted value"
    if "field larger than field limit" in str(exc):
        return f"unreadable CSV: a value longer than {MAX_FIELD:,} characters"
    return f"unreadable CSV: {exc}"


class RecordReader:
    """Records of ``fh`` from byte ``offset`` (a record boundary, line ``line``).

    The csv module pulls one physical line at a time and never reads ahead of
    the record it returns, so the offset after the lines it pulled is where
    the next record starts.
    """

    def __init__(self, fh: BinaryIO, *, offset: int, line: int, encoding: str,
                 delimiter: str) -> None:
        fh.seek(offset)
        self.fh = fh
        self.offset = offset
        self.next_line = line  # the line number of the next physical line
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self.delimiter = delimiter
        self.undecodable = False

    def _lines(self) -> Iterator[str]:
        encoding = self.encoding
        for raw in self.fh:
            self.offset += len(raw)
            self.next_line += 1
            try:
                yield raw.decode(encoding)
            except UnicodeDecodeError:
                self.undecodable = True
                yield raw.decode(encoding, "replace")

    def __iter__(self) -> Iterator[Record]:
        reader = csv.reader(self._lines(), delimiter=self.delimiter)
        while True:
            start, line = self.offset, self.next_line
            self.undecodable = False
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Record(line, start, self.offset, None, _problem(exc))
                continue
            if self.undecodable:
                yield Record(line, start, self.offset, None,
                             f"not {self.encoding} text (undecodable bytes)")
            elif fields:  # a blank line is no record
                yield Record(line, start, self.offset, fields)


def raw_text(fd: int, start: int, end: int, encoding: str) -> str:
    """A record as written (at most ``MAX_RAW`` bytes), without its line end."""
    length = min(end - start, MAX_RAW)
    data = os.pread(fd, length, start)
    text = data.decode("utf-8" if encoding == "utf-8-sig" else encoding, "replace")
    text = text.rstrip("\r\n").replace("\x00", "\ufffd")
    return text + ("…" if end - start > MAX_RAW else "")


def count_records(path: Path, *, offset: int, encoding: str, delimiter: str) -> int:
    """How many records (blank lines aside) the file holds from ``offset``:
    the records :class:`RecordReader` yields, counted by the csv module over
    the decoded file without a Python step per line."""
    count = 0
    with path.open("rb") as raw:
        raw.seek(offset)
        text = io.TextIOWrapper(raw, encoding="utf-8" if encoding == "utf-8-sig" else encoding,
                                errors="replace", newline="\n")  # as RecordReader splits
        reader = csv.reader(text, delimiter=delimiter)
        while True:
            try:
                for row in reader:
                    if row:
                        count += 1
                return count
            except csv.Error:
                count += 1  # yielded as a row error; the reader carries on


@dataclass(frozen=True)
class Sample:
    encoding: str
    delimiter: str
    rows: list[list[str]]  # the first records of the file (header included)
    start: int  # byte offset of the first record (after a BOM)
    complete: bool  # the sample is the whole file


def _encoding_of(head: bytes, whole_file_utf8: bool | None) -> str:
    if head.startswith(BOM):
        return "utf-8-sig"
    if whole_file_utf8 is None:
        try:
            utf8_checker().decode(head, final=False)
            whole_file_utf8 = True
        except UnicodeDecodeError:
            whole_file_utf8 = False
    return "utf-8" if whole_file_utf8 else "cp1252"


def _records(text: str, delimiter: str, complete: bool) -> list[list[str]]:
    lines = text.splitlines(keepends=True)
    if not complete and lines:
        lines = lines[:-1]  # cut mid-line
    rows: list[list[str]] = []
    try:
        for row in csv.reader(lines, delimiter=delimiter):
            if row:
                rows.append(row)
            if len(rows) > SAMPLE_RECORDS:
                break
    except csv.Error:
        pass
    if not complete and len(rows) > 1 and len(rows) <= SAMPLE_RECORDS:
        rows = rows[:-1]  # the last record may continue past the sample
    return rows


def _score(rows: list[list[str]]) -> tuple[bool, float, int]:
    """How plausible a delimiter is: rows with more than one field, how
    consistent their width is, and that width."""
    widths = [len(r) for r in rows]
    if not widths:
        return (False, 0.0, 0)
    mode = max(set(widths), key=lambda w: (widths.count(w), w))
    return (mode > 1, round(widths.count(mode) / len(widths), 2), mode)


def sniff(head: bytes, *, whole_file_utf8: bool | None = None, complete: bool = False,
          delimiter: str | None = None) -> Sample:
    """Encoding, delimiter and first records from the first bytes of a file."""
    encoding = _encoding_of(head, whole_file_utf8)
    start = len(BOM) if encoding == "utf-8-sig" else 0
    text = head[start:].decode("utf-8" if encoding == "utf-8-sig" else encoding, "replace")
    if delimiter is None:
        scored = [(_score(_records(text, d, complete)), -i, d) for i, d in enumerate(DELIMITERS)]
        delimiter = max(scored)[2]
    return Sample(encoding, delimiter, _records(text, delimiter, complete), start, complete)
