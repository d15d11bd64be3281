"""New contacts join ``opt_in`` topics at creation, on every path that creates
them; an email-only contact is claimed by the first identify with its email."""

from __future__ import annotations

from sqlalchemy import func, select

from letter.audience.models import TopicSubscription
from letter.contacts.models import Contact, Event
from tests.audience.conftest import ingest, send_to_email


def make_topic(client, owner, slug, name, default):
    made = client.post(f"/v1/projects/{slug}/topics", json={"name": name, "default": default},
                       headers=owner.headers)
    assert made.status_code == 201, made.text
    return made.json()


def recorded(db, project_slug_contact_ids=None):
    """Every (contact external id or email, topic id, subscribed) row."""
    with db.session() as session:
        rows = session.execute(
            select(Contact.external_id, Contact.email, TopicSubscription.topic_id,
                   TopicSubscription.subscribed)
            .join(Contact, Contact.id == TopicSubscription.contact_id)).all()
    return {(ext or email, str(topic), chosen) for ext, email, topic, chosen in rows}


def test_identify_subscribes_new_contacts_to_opt_in_topics(client, owner, project, db,
                                                           ingest_headers):
    slug = project["slug"]
    news = make_topic(client, owner, slug, "News", "opt_in")
    make_topic(client, owner, slug, "Promos", "opt_out")
    ingest(client, ingest_headers,
           {"type": "identify", "user_id": "ada", "email": "ada@example.com"},
           {"type": "track", "user_id": "bo", "event": "Seen"},  # no contact yet
           {"type": "identify", "user_id": "cy"})
    assert recorded(db) == {("ada", news["id"], True), ("cy", news["id"], True)}
    # an explicit "no" stays: identifying again does not resubscribe
    client.put(f"/v1/projects/{slug}/contacts/ada/topics/{news['id']}",
               json={"subscribed": False}, headers=owner.headers)
    ingest(client, ingest_headers, {"type": "identify", "user_id": "ada", "traits": {"a": 1}})
    assert client.post("/v1/identify", json={"user_id": "dee"}, headers=ingest_headers
                       ).status_code == 200
    assert recorded(db) == {("ada", news["id"], False), ("cy", news["id"], True),
                            ("dee", news["id"], True)}


def test_a_send_to_a_new_address_subscribes_it_too(client, owner, project, db):
    news = make_topic(client, owner, project["slug"], "News", "opt_in")
    send_to_email(client, owner, project["slug"], "new@example.com")
    assert recorded(db) == {("new@example.com", news["id"], True)}


def test_identify_claims_an_email_only_contact(client, owner, project, db, ingest_headers):
    slug = project["slug"]
    news = make_topic(client, owner, slug, "News", "opt_in")
    send_to_email(client, owner, slug, "Ada@Example.com")
    before = client.get(f"/v1/projects/{slug}/contacts/ada@example.com",
                        headers=owner.headers).json()
    assert before["external_id"] is None
    client.put(f"/v1/projects/{slug}/contacts/ada@example.com/topics/{news['id']}",
               json={"subscribed": False}, headers=owner.headers)
    ingest(client, ingest_headers,
           {"type": "track", "user_id": "ada", "event": "Visited"},
           {"type": "identify", "user_id": "ada", "email": "ada@EXAMPLE.com",
            "traits": {"plan": "pro"}},
           # a second new user with the same address in the same batch is a new person
           {"type": "identify", "user_id": "ada-2", "email": "ada@example.com"})
    after = client.get(f"/v1/projects/{slug}/contacts/ada", headers=owner.headers).json()
    assert after["id"] == before["id"] and after["created_at"] == before["created_at"]
    assert after["traits"] == {"plan": "pro"} and after["email"] == "ada@example.com"
    assert [e["name"] for e in after["recent_events"]] == ["Visited"]
    assert after["recent_events"][0]["contact_id"] == after["id"]
    # the claimed contact keeps its choices; only the new one got the opt_in topic
    assert recorded(db) == {("ada", news["id"], False), ("ada-2", news["id"], True)}
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 2
        assert session.scalar(select(func.count()).select_from(Event)) == 1


def test_a_later_identify_with_a_known_user_does_not_claim(client, owner, project,
                                                           ingest_headers):
    slug = project["slug"]
    ingest(client, ingest_headers, {"type": "identify", "user_id": "bo"})
    send_to_email(client, owner, slug, "bo@example.com")
    ingest(client, ingest_headers, {"type": "identify", "user_id": "bo",
                                    "email": "bo@example.com"})
    listed = client.get(f"/v1/projects/{slug}/contacts", headers=owner.headers).json()["data"]
    assert sorted((c["external_id"] or "-", c["email"]) for c in listed) == [
        ("-", "bo@example.com"), ("bo", "bo@example.com")]
    # a new user claims the email-only one, across batches too
    ingest(client, ingest_headers, {"type": "identify", "user_id": "bo-work",
                                    "email": "BO@example.com"})
    listed = client.get(f"/v1/projects/{slug}/contacts", headers=owner.headers).json()["data"]
    assert sorted(c["external_id"] for c in listed) == ["bo", "bo-work"]
