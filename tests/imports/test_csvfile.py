"""The record reader resumes at any saved offset exactly where it left off,
on any delimiter and encoding, whatever the quoting; the sniffer finds the
delimiter of real-world-shaped samples."""

from __future__ import annotations

import csv
import io
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letter.imports.csvfile import DELIMITERS, RecordReader, sniff

cp1252_text = st.characters(codec="cp1252", exclude_characters="\x00")
rows = st.lists(st.lists(st.text(cp1252_text, max_size=8), min_size=1, max_size=4),
                max_size=25)


def encode(table: list[list[str]], delimiter: str, encoding: str) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(table)
    return out.getvalue().encode(encoding)


def read_all(data: bytes, encoding: str, delimiter: str, offset: int = 0, line: int = 1):
    return list(RecordReader(io.BytesIO(data), offset=offset, line=line, encoding=encoding,
                             delimiter=delimiter))


@settings(max_examples=200, deadline=None)
@given(rows, st.integers(1, 6), st.sampled_from(DELIMITERS),
       st.sampled_from(["utf-8", "cp1252"]))
def test_resuming_at_any_saved_offset_reads_the_same_records(table, chunk, delimiter,
                                                             encoding):
    data = encode(table, delimiter, encoding)
    whole = read_all(data, encoding, delimiter)
    assert [r.fields for r in whole] == table
    resumed = []
    offset, line = 0, 1
    while True:
        reader = RecordReader(io.BytesIO(data), offset=offset, line=line, encoding=encoding,
                              delimiter=delimiter)
        got = list(islice(iter(reader), chunk))
        resumed += got
        offset, line = reader.offset, reader.next_line
        if len(got) < chunk:
            break
    assert [(r.line, r.start, r.end, r.fields) for r in resumed] == [
        (r.line, r.start, r.end, r.fields) for r in whole]
    for record in whole:  # the byte span is the record as written
        again = read_all(data[record.start:record.end], encoding, delimiter)
        assert [r.fields for r in again] == [record.fields]


def test_lines_count_physical_lines_and_blank_lines_are_no_records():
    data = b'a,b\n\n"x\ny",z\r\n\r\nlast,1'
    records = read_all(data, "utf-8", ",")
    assert [(r.line, r.fields) for r in records] == [
        (1, ["a", "b"]), (3, ["x\ny", "z"]), (6, ["last", "1"])]


@pytest.mark.parametrize(("sample", "delimiter"), [
    (b"email,first_name,last_name\nada@example.com,Ada,Lovelace\n", ","),
    (b"Email;Betrag;Stadt\nada@example.com;1,50;K\xf6ln\nbob@example.com;2,75;Berlin\n",
     ";"),
    (b"email\tname\tnote\nada@example.com\tAda\ta, b; c\n", "\t"),
    (b"id|email|plan\n1|ada@example.com|pro\n2|bob@example.com|free\n", "|"),
    (b'"Name, Full";Email\n"Lovelace, Ada";ada@example.com\n"Hopper, Grace";g@x.io\n', ";"),
    (b"email\nada@example.com\nbob@example.com\n", ","),
])
def test_sniff_finds_the_delimiter(sample, delimiter):
    assert sniff(sample, complete=True).delimiter == delimiter


def test_sniff_reports_the_encoding():
    assert sniff(b"\xef\xbb\xbfa,b\n", complete=True).encoding == "utf-8-sig"
    assert sniff("a,é\n".encode(), complete=True).encoding == "utf-8"
    assert sniff("a,é\n".encode("cp1252"), complete=True).encoding == "cp1252"
    # A sample cut in the middle of a UTF-8 character is still UTF-8.
    assert sniff("a,é".encode()[:-1], complete=False).encoding == "utf-8"


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(st.binary(max_size=12) | st.sampled_from(
    [b'"', b'""', b"\n", b"\r\n", b"\r", b",", b";", b"a", b"\x81", b"\xc3\xa9", b"\n\n"]),
    max_size=40), encoding=st.sampled_from(["utf-8", "cp1252"]))
def test_the_count_matches_the_records_read(tmp_path_factory, parts, encoding):
    from letter.imports.csvfile import count_records

    path = tmp_path_factory.mktemp("count") / "f.csv"
    path.write_bytes(b"".join(parts))
    records = read_all(path.read_bytes(), encoding, ",")
    assert count_records(path, offset=0, encoding=encoding, delimiter=",") == len(records)
