"""``letter imports`` and ``letter exports`` against a real ``letter serve``
(its worker runs the jobs): a header-less semicolon Windows-1252 file goes
in with the suggested mapping, the error report comes back with exactly the
bad rows, and an export of a segment contains exactly the segment."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.e2e.cli_support import Cli, new_workspace, server
from tests.e2e.conftest import wait_for_files

__all__ = ["server"]

HEADERLESS = ("Müller;jürgen@example.de;unsubscribed;Europe/Berlin\n"
              "Dupré;amelie@example.fr;subscribed;Europe/Paris\n"
              "Núñez;not-an-address;subscribed;Europe/Madrid\n"
              "Østergård;lars@example.dk;subscribed;Europe/Copenhagen\n").encode("cp1252")


@pytest.fixture
def acme(server, tmp_path) -> Cli:
    cli = new_workspace(server, tmp_path)
    cli.ok("projects", "create", "--name", "Acme", "--timezone", "Europe/Paris")
    cli.extra_env["LETTER_PROJECT"] = "acme"
    return cli


def test_a_header_less_cp1252_file_with_the_suggested_mapping(acme, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(HEADERLESS)
    preview = acme.json("imports", "preview", str(path))
    assert (preview["encoding"], preview["delimiter"], preview["has_header"]) == (
        "cp1252", ";", False)
    table = acme.ok("imports", "preview", str(path))
    assert "email" in table.stdout and "semicolon" not in table.stderr
    done = acme.run("imports", "create", str(path), "--wait", "--json")
    assert done.returncode == 0, done.stderr
    assert "mapping (suggested)" in done.stderr
    job = json.loads(done.stdout)
    assert (job["status"], job["created"], job["failed"], job["encoding"]) == (
        "completed", 3, 1, "cp1252")
    jurgen = acme.json("contacts", "get", "jürgen@example.de")
    assert (jurgen["traits"], jurgen["unsubscribe_reason"]) == ({"name": "Müller"}, "import")
    report = tmp_path / "errors.csv"
    acme.ok("imports", "error-report", job["id"], "--output", str(report))
    rows = list(csv.reader(io.StringIO(report.read_text())))
    assert [r[0] for r in rows] == ["line", "3"] and rows[1][2] == (
        "Núñez;not-an-address;subscribed;Europe/Madrid")
    link = acme.ok("imports", "error-report", job["id"]).stdout.strip()
    assert link.startswith(acme.server.base_url + "/v1/downloads/")
    listed = acme.json("imports", "list")["data"]
    assert [i["id"] for i in listed] == [job["id"]]
    assert acme.json("imports", "get", job["id"])["processed"] == 4
    again = acme.run("imports", "cancel", job["id"])
    assert again.returncode == 1 and "conflict" in again.stderr
    # The user who started it got the notice, through the outbox.
    [notice] = wait_for_files(acme.server.data_dir / "outbox", "*.eml", 1)
    text = notice.read_text(errors="replace")
    assert "Your import of export.csv completed" in text


def test_mapping_flags_dedupe_and_a_failing_wait(acme, tmp_path):
    first = tmp_path / "first.csv"
    first.write_text("Email,Plan\nada@example.com,free\n")
    acme.ok("imports", "create", str(first), "--map", "Email=email", "--map",
            "Plan=traits.plan", "--wait")
    second = tmp_path / "second.csv"
    second.write_text("Email,Plan\nada@example.com,pro\nbob@example.com,team\n")
    job = acme.json("imports", "create", str(second), "--mapping",
                    '{"Email": "email", "Plan": "traits.plan"}', "--dedupe", "skip", "--wait")
    assert (job["created"], job["skipped"]) == (1, 1)
    assert acme.json("contacts", "get", "ada@example.com")["traits"] == {"plan": "free"}
    bad = acme.run("imports", "create", str(second), "--map", "Nope=email")
    assert bad.returncode == 1 and 'no column "Nope"' in bad.stderr
    usage = acme.run("imports", "create", str(second), "--map", "Email")
    assert usage.returncode == 2


def test_export_a_segment_to_a_file(acme, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("id,email,plan\nu1,ada@example.com,pro\nu2,bob@example.com,free\n"
                      "u3,cy@example.com,pro\n")
    acme.ok("imports", "create", str(people), "--map", "id=external_id", "--map",
            "email=email", "--map", "plan=traits.plan", "--wait")
    segment = acme.json("segments", "create", "--name", "Pro", "--filter",
                        '{"kind": "trait", "path": "plan", "op": "eq", "value": "pro"}')
    out = tmp_path / "pro.csv"
    done = acme.json("exports", "create", "--segment", segment["id"], "--output", str(out))
    assert (done["status"], done["row_count"]) == ("completed", 2)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sorted(r["external_id"] for r in rows) == ["u1", "u3"]
    assert {r["plan"] for r in rows} == {"pro"}
    started = acme.json("exports", "create", "--status", "unsubscribed")
    assert started["status"] == "queued"
    listed = acme.json("exports", "list")["data"]
    assert [e["id"] for e in listed][1] == done["id"]
    assert acme.json("exports", "get", done["id"])["download_url"].startswith(
        acme.server.base_url)
    csv_out = acme.run("exports", "create", "--email-contains", "bob", "--output", "-")
    assert csv_out.returncode == 0 and "bob@example.com" in csv_out.stdout
