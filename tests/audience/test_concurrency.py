"""Two requests recording a contact's first choice for a topic at once (real
commits, separate connections) both succeed; the later one wins."""

from __future__ import annotations

import threading

from sqlalchemy import select

from letter.audience import topics
from letter.audience.models import TopicSubscription
from letter.auth import service as auth_service
from letter.contacts.models import Contact
from letter.projects import service as projects


def test_concurrent_first_choices_do_not_collide(committed_db):
    with committed_db.session() as session:
        _, ws, _ = auth_service.bootstrap(session, email="t@acme.test", workspace_name="T")
        project = projects.create_project(session, ws.id, "Acme", "UTC")
        contact = Contact(project_id=project.id, email="a@example.com", external_id="a")
        session.add(contact)
        session.flush()
        topic = topics.create_topic(session, project.id, name="News", description=None,
                                    default="opt_out")
        ids = project.id, contact.id, topic.id
    first_wrote = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with committed_db.session() as session:
                found = session.get_one(Contact, ids[1])
                topics.set_choice(session, ids[0], found, ids[2], subscribed=True)
                first_wrote.set()
                threading.Event().wait(0.5)  # the second request arrives meanwhile
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            first_wrote.set()

    def second() -> None:
        first_wrote.wait(10)
        try:
            with committed_db.session() as session:
                found = session.get_one(Contact, ids[1])
                topics.set_choice(session, ids[0], found, ids[2], subscribed=False)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    with committed_db.session() as session:
        rows = session.execute(select(TopicSubscription.subscribed)).all()
    assert [r.subscribed for r in rows] == [False]
