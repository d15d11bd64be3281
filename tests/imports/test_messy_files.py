"""Files as people have them: BOMs, Windows-1252, semicolons and tabs and
pipes, quoted newlines, ragged rows, a megabyte in one cell, binary garbage
in the middle — each a row error or a clear answer, never a crash."""

from __future__ import annotations

import csv
import io

import pytest

from tests.imports.support import BASE, import_csv

MAPPING = {"Email": "email", "Name": "traits.name"}


def names(client, owner) -> dict[str, str]:
    page = client.get(f"{BASE}?limit=100", headers=owner.headers).json()["data"]
    return {c["email"]: c["traits"].get("name") for c in page}


def report(client, owner, job) -> list[list[str]]:
    url = client.get(f"{BASE}/imports/{job['id']}/error-report",
                     headers=owner.headers).json()["url"]
    return list(csv.reader(io.StringIO(client.get(url.removeprefix("http://letter.test")).text)))


@pytest.mark.parametrize(("content", "encoding"), [
    ("Email,Name\nada@example.com,Zoë Ærø\n".encode(), "utf-8"),
    ("\ufeffEmail,Name\nada@example.com,Zoë Ærø\n".encode(), "utf-8-sig"),
    ("Email,Name\nada@example.com,Zoë Ærø\n".encode("cp1252"), "cp1252"),
])
def test_encodings(client, owner, project, content, encoding):
    job = import_csv(client, owner.headers, content, MAPPING)
    assert (job["encoding"], job["created"], job["failed"]) == (encoding, 1, 0)
    assert names(client, owner) == {"ada@example.com": "Zoë Ærø"}


def test_cp1252_is_chosen_for_the_whole_file_by_a_late_byte(client, owner, project):
    rows = "".join(f"user{i}@example.com,Name {i}\n" for i in range(5000))
    content = ("Email,Name\n" + rows + "late@example.com,Renée\n").encode("cp1252")
    job = import_csv(client, owner.headers, content, MAPPING)
    assert (job["encoding"], job["created"]) == ("cp1252", 5001)
    detail = client.get(f"{BASE}/late@example.com", headers=owner.headers).json()
    assert detail["traits"]["name"] == "Renée"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(client, owner, project, delimiter):
    content = (f"Email{delimiter}Name{delimiter}Note\n"
               f"ada@example.com{delimiter}Ada{delimiter}a, b; c\n"
               f"bob@example.com{delimiter}Bob{delimiter}x\n").encode()
    if delimiter in ",;":
        content = content.replace(b"a, b; c", b'"a, b; c"')
    job = import_csv(client, owner.headers, content, MAPPING)
    assert (job["delimiter"], job["created"], job["failed"]) == (delimiter, 2, 0)


def test_quoted_newlines_ragged_rows_and_crlf(client, owner, project):
    content = (b'Email,Name,Note\r\n'
               b'ada@example.com,"Ada\r\nLovelace","line one\nline two"\r\n'
               b'bob@example.com\r\n'
               b'cy@example.com,Cy,,,\r\n'
               b'dee@example.com,Dee,x,shifted,columns\r\n'
               b'eve@example.com,"Eve ""the"" Great",\r\n')
    job = import_csv(client, owner.headers, content, MAPPING)
    assert (job["total"], job["created"], job["failed"]) == (5, 4, 1)
    assert names(client, owner) == {"ada@example.com": "Ada\r\nLovelace",
                                    "bob@example.com": None, "cy@example.com": "Cy",
                                    "eve@example.com": 'Eve "the" Great'}
    rows = report(client, owner, job)
    assert rows[1][:2] == ["7", "5 fields where the header has 3"]  # ada spans 2-4


def test_a_megabyte_cell_is_a_row_error_and_the_rest_imports(client, owner, project):
    huge = b"x" * 1_000_000
    content = (b"Email,Name\nada@example.com," + huge + b"\nbob@example.com,Bob\n"
               b'cy@example.com,"' + huge + b'"\n')
    job = import_csv(client, owner.headers, content, MAPPING)
    assert (job["created"], job["failed"]) == (1, 2)
    rows = report(client, owner, job)
    assert [r[0] for r in rows[1:]] == ["2", "4"]
    assert "longer than" in rows[1][1]
    assert len(rows[1][2]) < 20_000  # the raw row is quoted, not copied whole


def test_binary_garbage_in_the_middle_is_row_errors(client, owner, project):
    # Past the first 64 KB (binary data there refuses the upload whole).
    good = "".join(f"user{i}@example.com,U{i}\n" for i in range(3000)).encode()
    garbage = bytes(range(256)) * 4
    content = (b"Email,Name\n" + good + garbage + b"\nbob@example.com,Bob\n"
               b"cy@example.com,C\x00y\n")
    job = import_csv(client, owner.headers, content, MAPPING)
    assert (job["status"], job["encoding"], job["created"]) == ("completed", "cp1252", 3001)
    assert job["processed"] == job["total"] and job["failed"] == job["total"] - 3001
    reasons = [r[1] for r in report(client, owner, job)[1:]]
    assert reasons[-1] == "column 1: contains a NUL character"
    assert any(r.startswith(("unreadable CSV", "not cp1252")) for r in reasons)


def test_a_file_without_data_rows_completes_empty(client, owner, project):
    job = import_csv(client, owner.headers, b"Email,Name\n", MAPPING)
    assert (job["status"], job["total"], job["processed"]) == ("completed", 0, 0)


def test_header_less_semicolon_cp1252_imports_with_the_suggested_mapping(
        client, owner, project):
    content = ("Müller;jürgen.m@example.de;unsubscribed;Europe/Berlin;2024-03-01\n"
               "Dupré;amelie@example.fr;subscribed;Europe/Paris;2023-11-15\n"
               "Núñez;pilar@example.es;subscribed;Europe/Madrid;2024-01-09\n"
               "Østergård;lars@example.dk;pending;Europe/Copenhagen;2022-06-30\n"
               "O'Brien;sean@example.ie;Subscribed;Europe/Dublin;2021-02-28\n"
               ).encode("cp1252")
    preview = client.post(f"{BASE}/imports/preview", headers=owner.headers,
                          files={"file": ("export.csv", content, "text/csv")})
    assert preview.status_code == 200, preview.text
    found = preview.json()
    assert (found["encoding"], found["delimiter"], found["has_header"]) == (
        "cp1252", ";", False)
    suggested = {c["index"]: c["suggested"] for c in found["columns"]}
    assert suggested == {0: "traits.name", 1: "email", 2: "status", 3: "timezone",
                         4: "traits.date"}
    assert found["columns"][0]["samples"][:2] == ["Müller", "Dupré"]
    mapping = {str(c["index"]): c["suggested"] for c in found["columns"]}
    job = import_csv(client, owner.headers, content, mapping)
    assert (job["has_header"], job["created"], job["failed"]) == (False, 4, 1)
    jurgen = client.get(f"{BASE}/jürgen.m@example.de", headers=owner.headers).json()
    assert jurgen["traits"] == {"name": "Müller", "date": "2024-03-01"}
    assert (jurgen["timezone"], jurgen["unsubscribe_reason"]) == ("Europe/Berlin", "import")


def test_has_header_can_be_forced(client, owner, project):
    content = b"ada@example.com,Ada\nbob@example.com,Bob\n"
    forced = import_csv(client, owner.headers, content, {"0": "email"}, has_header="true")
    assert (forced["has_header"], forced["total"], forced["created"]) == (True, 1, 1)
    job = import_csv(client, owner.headers, content, {"0": "email", "1": "traits.name"},
                     has_header="false")
    assert (job["has_header"], job["total"], job["created"], job["updated"]) == (
        False, 2, 1, 1)


def test_old_mac_line_ends(client, owner, project):
    content = b"Email,Name\rada@example.com,Ada\rbob@example.com,\"Bob\"\r"
    job = import_csv(client, owner.headers, content, MAPPING)
    assert (job["total"], job["created"], job["failed"]) == (2, 2, 0)
    assert names(client, owner) == {"ada@example.com": "Ada", "bob@example.com": "Bob"}
