"""Contact exports: the CSV (one column per trait, dotted; account, lists,
topics; safe in a spreadsheet), every filter, 20 per user per hour, and the
email with the link."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from letter.audience.models import ContactList, ListMember, Topic, TopicSubscription
from letter.contacts.models import Contact
from letter.delivery.models import Message
from letter.ids import uuid7
from letter.projects.models import Project
from tests.conftest import assert_error
from tests.imports.support import BASE, import_csv, run_jobs

PEOPLE = (
    b"id,email,plan,city,zip,org,status\n"
    b"u1,ada@example.com,pro,Paris,75001,acme,subscribed\n"
    b"u2,bob@example.com,free,,,,unsubscribed\n"
    b"u3,=cmd@example.com,-5,+33,@home,globex,subscribed\n")
MAPPING = {"id": "external_id", "email": "email", "plan": "traits.plan",
           "city": "traits.address.city", "zip": "traits.address.zip",
           "org": "account.external_id", "status": "status"}


@pytest.fixture
def people(client, owner, project, db) -> dict[str, str]:
    import_csv(client, owner.headers, PEOPLE, MAPPING)
    with db.session() as session:
        project_id = session.scalar(select(Project.id).where(Project.slug == "acme"))
        ids = {c.external_id: c.id for c in session.scalars(select(Contact))}
        vip = ContactList(id=uuid7(), project_id=project_id, name="VIP")
        news = Topic(id=uuid7(), project_id=project_id, name="News", default="opt_out")
        session.add_all([vip, news])
        session.flush()
        session.add_all([ListMember(project_id=project_id, list_id=vip.id, contact_id=ids["u1"]),
                         TopicSubscription(project_id=project_id, topic_id=news.id,
                                           contact_id=ids["u1"], subscribed=True),
                         TopicSubscription(project_id=project_id, topic_id=news.id,
                                           contact_id=ids["u2"], subscribed=False)])
        return {"list": str(vip.id), "topic": str(news.id)}


def export(client, owner, body: dict) -> tuple[dict, str]:
    started = client.post(f"{BASE}/exports", json=body, headers=owner.headers)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"
    run_jobs(client)
    done = client.get(f"{BASE}/exports/{started.json()['id']}", headers=owner.headers).json()
    assert done["status"] == "completed", done
    got = client.get(done["download_url"].removeprefix("http://letter.test"))
    assert got.status_code == 200
    return done, got.content.decode("utf-8")


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv(client, owner, people):
    done, text = export(client, owner, {})
    assert done["row_count"] == 3 and done["expires_at"]
    assert not text.startswith("\ufeff") and text.count("\r\n") == 4
    header = text.split("\r\n")[0].split(",")
    assert header == ["email", "external_id", "status", "created_at", "updated_at",
                      "address.city", "address.zip", "plan", "account", "lists", "topics"]
    by_id = {r["external_id"]: r for r in rows_of(text)}
    assert by_id["u1"] | {"created_at": "", "updated_at": ""} == {
        "email": "ada@example.com", "external_id": "u1", "status": "subscribed",
        "created_at": "", "updated_at": "", "address.city": "Paris", "address.zip": "75001",
        "plan": "pro", "account": "acme", "lists": "VIP", "topics": "News"}
    assert by_id["u1"]["created_at"].endswith("Z")
    assert (by_id["u2"]["status"], by_id["u2"]["topics"], by_id["u2"]["address.city"]) == (
        "unsubscribed", "", "")
    # Values a spreadsheet would run as formulas are quoted.
    assert (by_id["u3"]["email"], by_id["u3"]["plan"], by_id["u3"]["address.city"],
            by_id["u3"]["address.zip"]) == ("'=cmd@example.com", "'-5", "'+33", "'@home")


def test_each_filter(client, owner, people):
    def ids(body: dict) -> set[str]:
        return {r["external_id"] for r in rows_of(export(client, owner, body)[1])}

    segment = client.post("/v1/projects/acme/segments", headers=owner.headers, json={
        "name": "Paris", "filter": {"kind": "trait", "path": "address.city", "op": "exists"}}
    ).json()
    assert ids({"segment_id": segment["id"]}) == {"u1", "u3"}
    assert ids({"filter": {"kind": "trait", "path": "plan", "op": "eq", "value": "free"}}) == {
        "u2"}
    assert ids({"list_id": people["list"]}) == {"u1"}
    assert ids({"topic_id": people["topic"]}) == {"u1"}
    assert ids({"status": "unsubscribed"}) == {"u2"}
    assert ids({"status": "subscribed", "email_contains": "EXAMPLE"}) == {"u1", "u3"}
    assert ids({"email_contains": "%"}) == set()
    assert ids({"segment_id": segment["id"], "email_contains": "ada"}) == {"u1"}


@pytest.mark.parametrize("body", [
    {"filter": {"kind": "nope"}}, {"segment_id": str(uuid7())}, {"list_id": str(uuid7())},
    {"topic_id": "x"}, {"status": "maybe"}, {"unknown": 1}, {"email_contains": ""},
])
def test_bad_requests(client, owner, project, body):
    assert_error(client.post(f"{BASE}/exports", json=body, headers=owner.headers), 400,
                 "bad_request")


def test_twenty_exports_per_user_per_hour(client, owner, project, make_account):
    for _ in range(20):
        assert client.post(f"{BASE}/exports", json={}, headers=owner.headers).status_code == 202
    refused = client.post(f"{BASE}/exports", json={}, headers=owner.headers)
    body = assert_error(refused, 429, "rate_limited")
    assert 3500 < body["error"]["retryAfter"] <= 3600
    assert refused.headers["Retry-After"] == str(body["error"]["retryAfter"])
    colleague = make_account(role="member", workspace=owner)
    assert client.post(f"{BASE}/exports", json={}, headers=colleague.headers
                       ).status_code == 202
    listed = client.get(f"{BASE}/exports?limit=100", headers=owner.headers).json()["data"]
    assert len(listed) == 21


def test_the_user_gets_an_email_with_the_link(client, owner, people, db):
    export(client, owner, {"status": "subscribed"})
    with db.session() as session:
        [notice] = session.scalars(select(Message).where(
            Message.to_email == owner.email, Message.subject.like("%export%")))
    assert notice.data["template"] == "export_ready"
    link = notice.data["values"]["link"]
    assert link.startswith("http://letter.test/v1/downloads/")
    assert client.get(link.removeprefix("http://letter.test")).status_code == 200


def test_an_opt_in_topic_counts_contacts_without_a_choice_as_subscribed(
        client, owner, people, db):
    with db.session() as session:
        project_id = session.scalar(select(Project.id).where(Project.slug == "acme"))
        product = Topic(id=uuid7(), project_id=project_id, name="Product", default="opt_in")
        session.add(product)
        session.flush()
        u3 = session.scalar(select(Contact.id).where(Contact.external_id == "u3"))
        session.add(TopicSubscription(project_id=project_id, topic_id=product.id,
                                      contact_id=u3, subscribed=False))
        product_id = str(product.id)
    rows = {r["external_id"]: r for r in rows_of(export(client, owner, {})[1])}
    assert {k: r["topics"] for k, r in rows.items()} == {
        "u1": "News; Product", "u2": "Product", "u3": ""}
    only = rows_of(export(client, owner, {"topic_id": product_id})[1])
    assert {r["external_id"] for r in only} == {"u1", "u2"}


def test_keys_found_on_later_pages_get_columns_for_every_row(client, owner, project, db,
                                                             monkeypatch, tmp_path):
    from letter.imports import exporting, exportparts

    content = ("id,a,b,cd\n"
               'u1,"é\nmultiline",,\n'
               "u2,x,,\n"
               "u3,y,=b3,\n"
               "u4,,,4\n"
               "u5,,,\n").encode()
    import_csv(client, owner.headers, content, {"id": "external_id", "a": "traits.a",
                                                "b": "traits.b", "cd": "traits.c.d"})
    monkeypatch.setattr(exportparts, "PAGE", 2)
    with db.session() as session:
        project_id = session.scalar(select(Project.id).where(Project.slug == "acme"))
    target = tmp_path / "out.csv"
    assert exporting.write_export(db, project_id, {}, target) == 5
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0][5:] == ["a", "b", "c.d", "account", "lists", "topics"]
    assert all(len(r) == 11 for r in rows)
    got = {r[1]: r[5:8] for r in rows[1:]}
    assert got == {"u1": ["é\nmultiline", "", ""], "u2": ["x", "", ""], "u3": ["y", "'=b3", ""],
                   "u4": ["", "", "4"], "u5": ["", "", ""]}


@pytest.mark.parametrize("few", [0, 3], ids=["aggregate", "a probe each"])
def test_list_and_topic_names_whatever_their_number(client, owner, people, db, monkeypatch,
                                                    few):
    from letter.imports import exportnames

    monkeypatch.setattr(exportnames, "FEW", few)
    with db.session() as session:
        project_id = session.scalar(select(Project.id).where(Project.slug == "acme"))
        ids = {c.external_id: c.id for c in session.scalars(select(Contact))}
        alpha = ContactList(id=uuid7(), project_id=project_id, name="Alpha")
        product = Topic(id=uuid7(), project_id=project_id, name="Product", default="opt_in")
        session.add_all([alpha, product])
        session.flush()
        session.add_all([ListMember(project_id=project_id, list_id=alpha.id, contact_id=ids[u])
                         for u in ("u1", "u3")])
        session.add(TopicSubscription(project_id=project_id, topic_id=product.id,
                                      contact_id=ids["u3"], subscribed=False))
    rows = {r["external_id"]: r for r in rows_of(export(client, owner, {})[1])}
    assert {k: (r["lists"], r["topics"]) for k, r in rows.items()} == {
        "u1": ("Alpha; VIP", "News; Product"), "u2": ("", "Product"), "u3": ("Alpha", "")}
