"""The export's cells, written straight by ``write_export``: a value that
starts like a formula is escaped in every column and nothing else is;
traits are flattened and shown in their string form; RFC 4180 quoting of
quotes and line breaks; UTF-8; instants truncated to the millisecond —
whether the value's page holds other such values or not."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from letter.audience.models import ContactList, ListMember, Topic
from letter.contacts.models import Account, Contact
from letter.db.engine import Database
from letter.ids import uuid7
from letter.imports import exporting, exportparts
from letter.projects.models import Project

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def add(db: Database, project_id: uuid.UUID, people: list[dict[str, Any]]) -> None:
    """Contacts in this order of creation (the export's order)."""
    with db.session() as session:
        for i, person in enumerate(people):
            session.add(Contact(id=uuid7(), project_id=project_id,
                                created_at=T0 + timedelta(seconds=i), updated_at=T0,
                                **{"traits": {}} | person))


def export(db: Database, project_id: uuid.UUID, tmp_path: Path) -> tuple[str, list[dict[str, str]]]:
    target = tmp_path / "out.csv"
    exporting.write_export(db, project_id, {}, target)
    raw = target.read_bytes()
    text = raw.decode("utf-8")
    return text, list(csv.DictReader(io.StringIO(text, newline="")))


def project_id_of(db: Database, project: dict[str, Any]) -> uuid.UUID:
    with db.session() as session:
        found = session.scalar(select(Project.id).where(Project.slug == project["slug"]))
    assert found is not None
    return found


@pytest.fixture(params=[5000, 2], ids=["one page", "pages of two"])
def page(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(exportparts, "PAGE", request.param)
    return int(request.param)


def test_formula_starts_are_escaped_in_every_column(db, project, tmp_path, page):
    project_id = project_id_of(db, project)
    with db.session() as session:
        account = Account(id=uuid7(), project_id=project_id, external_id="-acct", traits={})
        vip = ContactList(id=uuid7(), project_id=project_id, name="@vip")
        news = Topic(id=uuid7(), project_id=project_id, name="+news", default="opt_in")
        session.add_all([account, vip, news])
        account_id, vip_id = account.id, vip.id
    add(db, project_id, [
        {"external_id": "clean1", "email": "ok@example.com", "traits": {"s": "fine"}},
        {"external_id": "=x1", "email": "=cmd@example.com", "account_id": account_id,
         "traits": {"s": "=1+1", "t": "+33 6", "u": "-5", "v": "@home", "w": "\tx",
                    "x": "\rx", "deep": {"er": {"s": "=deep"}}}},
        {"external_id": "clean2", "email": "+tag@example.com", "traits": {"s": "also fine"}},
        {"external_id": "clean3",
         "traits": {"s": 'a"=b', "t": "x\n=y", "u": -5, "v": "é=", "w": ["=x"]}},
        {"external_id": "two\n=lines", "email": "a\n=b@example.com"},
    ])
    with db.session() as session:
        ids = dict(session.execute(select(Contact.external_id, Contact.id).where(
            Contact.project_id == project_id)).all())
        session.add(ListMember(project_id=project_id, list_id=vip_id, contact_id=ids["=x1"]))
    _, rows = export(db, project_id, tmp_path)
    by_id = {r["external_id"]: r for r in rows}
    risky = by_id["'=x1"]
    assert (risky["email"], risky["account"], risky["lists"], risky["topics"]) == (
        "'=cmd@example.com", "'-acct", "'@vip", "'+news")
    assert [risky[k] for k in ("s", "t", "u", "v", "w", "x", "deep.er.s")] == [
        "'=1+1", "'+33 6", "'-5", "'@home", "'\tx", "'\rx", "'=deep"]
    assert by_id["clean2"]["email"] == "'+tag@example.com"
    assert (by_id["clean1"]["s"], by_id["clean2"]["s"]) == ("fine", "also fine")
    # Only a value's first character counts; numbers and arrays are not text.
    assert [by_id["clean3"][k] for k in ("s", "t", "u", "v", "w")] == [
        'a"=b', "x\n=y", "-5", "é=", '["=x"]']
    assert by_id["two\n=lines"]["email"] == "a\n=b@example.com"
    assert (by_id["clean3"]["email"], by_id["clean1"]["lists"]) == ("", "")


def test_trait_shapes(db, project, tmp_path, page):
    project_id = project_id_of(db, project)
    add(db, project_id, [
        {"external_id": "empty"},
        {"external_id": "shapes", "traits": {
            "deep": {"a": {"b": {"c": "x"}}, "n": 1}, "none": {}, "list": [1, "two", {"t": 3}],
            "null": None, "yes": True, "no": False, "half": 1.5, "whole": 5.0, "big": 1e20,
            "int": 42}},
        {"external_id": "later", "traits": {"deep": {"a": "now a string"}}},
    ])
    text, rows = export(db, project_id, tmp_path)
    header = text.split("\r\n", 1)[0].split(",")
    by_id = {r["external_id"]: r for r in rows}
    shapes = by_id["shapes"]
    assert {k: shapes[k] for k in ("deep.a.b.c", "deep.n", "none", "list", "null", "yes", "no",
                                   "half", "whole", "big", "int")} == {
        "deep.a.b.c": "x", "deep.n": "1", "none": "{}", "list": '[1,"two",{"t":3}]',
        "null": "", "yes": "true", "no": "false", "half": "1.5", "whole": "5",
        "big": "100000000000000000000", "int": "42"}
    assert all(by_id["empty"][k] == "" for k in header[5:])
    assert (by_id["later"]["deep.a"], by_id["shapes"]["deep.a"], by_id["later"]["deep.n"]) == (
        "now a string", "", "")
    assert all(len(r) == len(header) for r in rows)


def test_quotes_line_breaks_and_non_ascii(db, project, tmp_path, page):
    project_id = project_id_of(db, project)
    add(db, project_id, [
        {"external_id": "q", "email": "zoë@example.com",
         "traits": {"say": 'say "hi"\r\nnext, line', "name": "Zoë 日本", "é": "ü"}},
        {"external_id": "plain", "traits": {"say": "nothing"}},
    ])
    text, rows = export(db, project_id, tmp_path)
    assert not text.startswith("\ufeff")
    assert '"say ""hi""\r\nnext, line"' in text
    by_id = {r["external_id"]: r for r in rows}
    assert (by_id["q"]["say"], by_id["q"]["name"], by_id["q"]["é"], by_id["q"]["email"]) == (
        'say "hi"\r\nnext, line', "Zoë 日本", "ü", "zoë@example.com")
    assert by_id["plain"]["say"] == "nothing"


def test_instants_are_truncated_to_the_millisecond(db, project, tmp_path):
    project_id = project_id_of(db, project)
    late = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    with db.session() as session:
        session.add(Contact(id=uuid7(), project_id=project_id, external_id="late", traits={},
                            created_at=late, updated_at=late.replace(microsecond=0)))
    _, [row] = export(db, project_id, tmp_path)
    assert (row["created_at"], row["updated_at"]) == (
        "2026-12-31T23:59:59.999Z", "2026-12-31T23:59:59.000Z")
