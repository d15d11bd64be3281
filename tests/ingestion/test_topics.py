"""Contacts that ingestion creates join the project's opt_in topics; contacts
that already existed keep their choices."""

from __future__ import annotations

from sqlalchemy import select

from letter.audience.models import Topic, TopicDefault, TopicSubscription
from letter.contacts.models import Contact
from letter.projects.models import Project


def test_an_identify_that_creates_a_contact_subscribes_it_to_opt_in_topics(
    client, project, ingest_headers, db
):
    assert client.post("/v1/identify", json={"user_id": "before"},
                       headers=ingest_headers).status_code == 200
    with db.session() as session:
        project_id = session.scalar(select(Project.id).where(Project.slug == project["slug"]))
        news = Topic(project_id=project_id, name="News", default=TopicDefault.OPT_IN)
        offers = Topic(project_id=project_id, name="Offers", default=TopicDefault.OPT_OUT)
        session.add_all([news, offers])
        session.commit()
        news_id = news.id
    batch = [{"type": "track", "user_id": "new", "event": "Visited"},
             {"type": "identify", "user_id": "new", "email": "new@example.com"},
             {"type": "identify", "user_id": "before", "traits": {"plan": "pro"}},
             {"type": "identify", "user_id": "new", "traits": {"again": True}}]
    response = client.post("/v1/batch", json={"batch": batch}, headers=ingest_headers)
    assert response.status_code == 200 and response.json()["accepted"] == 4
    with db.session() as session:
        rows = session.execute(
            select(Contact.external_id, TopicSubscription.topic_id, TopicSubscription.subscribed)
            .join(Contact, Contact.id == TopicSubscription.contact_id)).all()
    assert [tuple(r) for r in rows] == [("new", news_id, True)]
