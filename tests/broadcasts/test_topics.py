"""Topic broadcasts through a real SMTP server: only the topic's subscribers,
preflight's ``not_in_topic``, an unsubscribe link that leaves that topic
only, a contact who leaves between snapshot and send, and the preference
centre — on both databases."""

from __future__ import annotations

import email
import re
from collections import Counter
from email import policy

from letter.contacts.models import Contact
from tests.broadcasts.support import (
    DOC,
    drain_all,
    outbox_states,
    recipients,
    run_broadcast_jobs,
)
from tests.conftest import assert_error

EVERYONE = {"kind": "inline", "filter": {"kind": "group", "op": "and", "children": []}}


def make_topic(api, owner, slug, name, **extra):
    made = api.post(f"/v1/projects/{slug}/topics", json={"name": name, **extra},
                    headers=owner.headers)
    assert made.status_code == 201, made.text
    return made.json()


def choose(api, owner, slug, contact, topic, subscribed):
    done = api.put(f"/v1/projects/{slug}/contacts/{contact}/topics/{topic['id']}",
                   json={"subscribed": subscribed}, headers=owner.headers)
    assert done.status_code == 200, done.text


def states(api, owner, slug, contact):
    body = api.get(f"/v1/projects/{slug}/contacts/{contact}", headers=owner.headers).json()
    return {t["name"]: t["subscribed"] for t in body["topics"]}, body["unsubscribed_at"]


def draft(api, owner, slug, topic=None, name="News"):
    made = api.post(f"/v1/projects/{slug}/broadcasts", headers=owner.headers, json={
        "name": name, "subject": "News", "body_doc": DOC, "audience": EVERYONE,
        **({"topic_id": topic["id"]} if topic else {})})
    assert made.status_code == 201, made.text
    return made.json()


def send_now(api, owner, slug, b, runtime):
    scheduled = api.post(f"/v1/projects/{slug}/broadcasts/{b['id']}/schedule",
                         headers=owner.headers, json={"scheduled_at": None})
    assert scheduled.status_code == 200, scheduled.text
    assert run_broadcast_jobs(runtime) == 1


def unsubscribe_link(message) -> str:
    parsed = email.message_from_bytes(message.data, policy=policy.default)
    https = re.findall(r"<([^>]+)>", parsed["List-Unsubscribe"])[0]
    return https.removeprefix("http://letter.test")


def world(api, owner, slug, make_contact):
    """a, b subscribed to the opt_out topic "Product"; c never chose; d
    subscribed but suppressed; everyone follows the opt_in topic "Digest"."""
    for name in "abcd":
        make_contact(f"{name}@example.com", external_id=name)
    product = make_topic(api, owner, slug, "Product", default="opt_out")
    digest = make_topic(api, owner, slug, "Digest")
    make_topic(api, owner, slug, "Staff only", visibility="private")
    for name in "abd":
        choose(api, owner, slug, name, product, True)
    api.post(f"/v1/projects/{slug}/contacts/d/suppress", headers=owner.headers)
    return product, digest


def test_a_topic_broadcast_reaches_only_subscribers(api, owner, project_row, make_contact,
                                                    runtime, smtp, db):
    slug = project_row.slug
    product, _ = world(api, owner, slug, make_contact)
    b = draft(api, owner, slug, product)
    assert b["topic_id"] == product["id"]
    report = api.post(f"/v1/projects/{slug}/broadcasts/{b['id']}/preflight",
                      headers=owner.headers).json()
    assert (report["matches"], report["total"]) == (2, 4)
    assert report["excluded"]["not_in_topic"] == 1 and report["excluded"]["suppressed"] == 1
    assert {x["external_id"]: x["reason"] for x in report["excluded_sample"]} == {
        "c": "not_in_topic", "d": "suppressed"}
    send_now(api, owner, slug, b, runtime)
    drain_all(runtime)
    assert recipients(smtp) == Counter(["a@example.com", "b@example.com"])


def test_the_topic_link_leaves_that_topic_only(api, owner, project_row, make_contact,
                                               runtime, smtp, db):
    slug = project_row.slug
    product, _ = world(api, owner, slug, make_contact)
    b = draft(api, owner, slug, product)
    send_now(api, owner, slug, b, runtime)
    drain_all(runtime)
    to_a = next(m for m in smtp.messages if m.rcpt_tos == ["a@example.com"])
    link = unsubscribe_link(to_a)
    page = api.get(link)
    assert page.status_code == 200 and "Unsubscribe from “Product”" in page.text
    assert states(api, owner, slug, "a") == ({"Product": True, "Digest": True,
                                              "Staff only": True}, None)
    # RFC 8058 one-click
    done = api.post(link, content=b"List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200
    assert states(api, owner, slug, "a") == ({"Product": False, "Digest": True,
                                              "Staff only": True}, None)
    stats = api.get(f"/v1/projects/{slug}/broadcasts/{b['id']}/live",
                    headers=owner.headers).json()["stats"]
    assert stats["unsubscribed"] == 1
    assert api.post(link).status_code == 200  # again: no change, no second count
    assert api.get(f"/v1/projects/{slug}/broadcasts/{b['id']}/live", headers=owner.headers
                   ).json()["stats"]["unsubscribed"] == 1
    # mail of another kind still reaches a; the next Product broadcast does not
    smtp.messages.clear()
    send_now(api, owner, slug, draft(api, owner, slug, name="All"), runtime)
    send_now(api, owner, slug, draft(api, owner, slug, product, name="Product 2"), runtime)
    drain_all(runtime)
    assert recipients(smtp) == Counter(["a@example.com", "b@example.com", "c@example.com",
                                        "b@example.com"])


def test_a_contact_who_leaves_after_the_snapshot_is_not_sent(api, owner, project_row,
                                                             make_contact, runtime, smtp, db):
    slug = project_row.slug
    product, _ = world(api, owner, slug, make_contact)
    b = draft(api, owner, slug, product)
    send_now(api, owner, slug, b, runtime)
    choose(api, owner, slug, "b", product, False)
    drain_all(runtime)
    assert recipients(smtp) == Counter(["a@example.com"])
    # d is in the snapshot too, and suppressed at send as ever
    assert outbox_states(db, b["id"]) == Counter({"sent": 1, "suppressed": 2})
    suppressed = api.get(f"/v1/projects/{slug}/messages", params={"state": "suppressed"},
                         headers=owner.headers).json()["data"]
    assert sorted(m["reason"] for m in suppressed) == ["manual", "not_in_topic"]


def test_a_broadcast_names_a_topic_of_its_project(api, owner, project_row, make_account):
    stranger = make_account()
    theirs = api.post("/v1/projects", json={"name": "Other"}, headers=stranger.headers).json()
    foreign = make_topic(api, stranger, theirs["slug"], "Theirs")
    made = api.post(f"/v1/projects/{project_row.slug}/broadcasts", headers=owner.headers,
                    json={"name": "x", "topic_id": foreign["id"]})
    assert_error(made, 400, "bad_request")
    listed = api.get(f"/v1/projects/{project_row.slug}/broadcasts", headers=owner.headers)
    assert listed.json()["data"] == []


def form_token(page_text: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', page_text).group(1)


def test_the_preference_centre(api, owner, project_row, make_contact, runtime, smtp, db):
    slug = project_row.slug
    product, digest = world(api, owner, slug, make_contact)
    send_now(api, owner, slug, draft(api, owner, slug), runtime)  # not a topic broadcast
    drain_all(runtime)
    link = unsubscribe_link(next(m for m in smtp.messages if m.rcpt_tos == ["a@example.com"]))
    page = api.get(link)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    # public topics as checkboxes with the contact's state; private ones never
    assert re.search(rf'value="{product["id"]}" checked', page.text)
    assert re.search(rf'value="{digest["id"]}" checked', page.text)
    assert "Staff only" not in page.text
    token = form_token(page.text)
    before = states(api, owner, slug, "a")
    for bad in ({"form_token": "forged", "action": "save"},
                {"form_token": token, "action": "save", "topic": "not-a-uuid"},
                {"form_token": token, "action": "save", "topic": [str(product["id"]),
                                                                  "0" * 32]},
                {"form_token": token, "action": "explode"}):
        response = api.post(f"{link}/preferences", data=bad)
        assert response.status_code == 400, (bad, response.text)
    assert states(api, owner, slug, "a") == before
    # keep Digest, leave Product
    saved = api.post(f"{link}/preferences", data={"form_token": token, "action": "save",
                                                  "topic": [digest["id"]]})
    assert saved.status_code == 200 and "saved" in saved.text
    assert states(api, owner, slug, "a") == ({"Product": False, "Digest": True,
                                              "Staff only": True}, None)
    assert not re.search(rf'value="{product["id"]}" checked', saved.text)
    # opt back in to Product, then unsubscribe from everything
    api.post(f"{link}/preferences", data={"form_token": token, "action": "save",
                                          "topic": [digest["id"], product["id"]]})
    assert states(api, owner, slug, "a")[0]["Product"] is True
    gone = api.post(f"{link}/preferences", data={"form_token": token, "action": "everything"})
    assert gone.status_code == 200 and "You are unsubscribed" in gone.text
    with db.session() as session:
        contact = session.query(Contact).filter_by(external_id="a").one()
        assert contact.unsubscribe_reason == "unsubscribe_link"


def test_an_old_form_is_refused_and_changes_nothing(api, owner, project_row, make_contact,
                                                    runtime, smtp, settings):
    from letter.delivery.links import links_for

    slug = project_row.slug
    world(api, owner, slug, make_contact)
    send_now(api, owner, slug, draft(api, owner, slug), runtime)
    drain_all(runtime)
    link = unsubscribe_link(next(m for m in smtp.messages if m.rcpt_tos == ["a@example.com"]))
    links = links_for(settings.secret_key or "", settings.public_url)
    token = link.rsplit("/", 1)[1]
    fresh = links.form_token(token)
    assert links.form_token_ok(token, fresh)
    assert not links.form_token_ok(token, fresh, max_age=-1)  # expired
    assert not links.form_token_ok("another-link", fresh)
    other = unsubscribe_link(next(m for m in smtp.messages if m.rcpt_tos == ["b@example.com"]))
    # a form token of b's page does not work on a's
    b_token = form_token(api.get(other).text)
    refused = api.post(f"{link}/preferences", data={"form_token": b_token, "action":
                                                    "everything"})
    assert refused.status_code == 400
    assert states(api, owner, slug, "a") == ({"Product": True, "Digest": True,
                                              "Staff only": True}, None)
