"""The sequence engine's hook: called for each created contact and inserted
event, inside the ingestion transaction, never for duplicates."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from letter.contacts.models import Contact, Event
from letter.ingestion import hooks


class Recorder:
    def __init__(self) -> None:
        self.contacts: list[tuple[hooks.IngestedContact, bool, bool]] = []
        self.events: list[tuple[hooks.IngestedEvent, bool, bool]] = []

    def contact_created(self, session, project, contact, skip_triggers):
        stored = session.scalar(select(Contact.external_id).where(Contact.id == contact.id))
        self.contacts.append((contact, skip_triggers, stored == contact.external_id))

    def event_inserted(self, session, project, event, skip_triggers):
        stored = session.scalar(select(Event.name).where(Event.id == event.id))
        self.events.append((event, skip_triggers, stored == event.name))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorder = Recorder()
    unsubscribe = hooks.subscribe(recorder)
    yield recorder
    unsubscribe()
    assert recorder not in hooks._listeners


def test_hooks_see_new_contacts_and_events_in_the_transaction(client, project, ingest_headers,
                                                             recorder):
    items = [
        {"type": "track", "user_id": "u1", "event": "Before", "message_id": "t0"},
        {"type": "identify", "user_id": "u1", "email": "u1@example.com",
         "traits": {"plan": "pro"}, "message_id": "i1"},
        {"type": "identify", "user_id": "u1", "traits": {"more": 1}, "message_id": "i2"},
        {"type": "track", "user_id": "u1", "event": "Signed Up", "message_id": "t1",
         "properties": {"p": 1}},
    ]
    client.post("/v1/batch", json={"batch": items}, headers=ingest_headers)
    assert len(recorder.contacts) == 1
    created, skip, stored = recorder.contacts[0]
    assert created.external_id == "u1" and created.email == "u1@example.com"
    assert created.traits == {"plan": "pro", "more": 1}
    assert skip is False and stored is True
    assert [(e.name, e.properties, e.contact_id == created.id, s, st)
            for e, s, st in recorder.events] == [
        ("Before", {}, True, False, True), ("Signed Up", {"p": 1}, True, False, True)]
    # Duplicates and updates of existing contacts call nothing.
    client.post("/v1/batch", json={"batch": items}, headers=ingest_headers)
    client.post("/v1/identify", json={"user_id": "u1", "traits": {"x": 2}},
                headers=ingest_headers)
    assert len(recorder.contacts) == 1 and len(recorder.events) == 2


def test_hooks_are_told_about_skip_triggers(client, project, ingest_headers, recorder):
    client.post("/v1/batch?skip_triggers=true", json={"batch": [
        {"type": "identify", "user_id": "old"},
        {"type": "track", "user_id": "old", "event": "Signed Up"}]}, headers=ingest_headers)
    assert [s for _, s, _ in recorder.contacts] == [True]
    assert [s for _, s, _ in recorder.events] == [True]


def test_a_failing_hook_rolls_the_whole_call_back(make_client, project, ingest_headers, db):
    class Failing:
        def contact_created(self, *args):
            raise RuntimeError("engine down")

        def event_inserted(self, *args):
            pass

    unsubscribe = hooks.subscribe(Failing())
    try:
        client = make_client()
        client.post("/v1/identify", json={"user_id": "u"}, headers=ingest_headers)
    except RuntimeError:
        pass
    finally:
        unsubscribe()
    with db.session() as session:
        assert session.scalar(select(Contact.id)) is None
