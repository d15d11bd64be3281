"""Real commits on separate connections: a wait_event's timeout and its
event racing resolve exactly once; two engines never run the same step."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import func, select

from letter.clock import utcnow
from letter.contacts.models import Contact
from letter.delivery.models import Message
from letter.ids import uuid7
from letter.ingestion import hooks
from letter.projects.models import Project
from letter.sequences.engine import run_due
from letter.sequences.models import Enrollment, EnrollmentState
from letter.sequences.triggers import Triggers
from tests.sequences.conftest import SIGNED_UP, chain, edge, email, node
from tests.sequences.support import enrol_contacts, published

RACE = {"nodes": [node("t", "trigger"),
                  node("we", "wait_event", eventName="Done",
                       timeout={"value": 1, "unit": "minutes"}),
                  email("got", "Received"), email("late", "Timed out")],
        "edges": [edge("t", "we"), edge("we", "got", "received"),
                  edge("we", "late", "timeout")]}


def _event(contact_id) -> hooks.IngestedEvent:
    now = utcnow()
    return hooks.IngestedEvent(uuid7(), "Done", {}, contact_id, None, "c0", now, now)


def test_timeout_and_event_racing_resolve_once(committed_db):
    project_id, sequence_id = published(committed_db, RACE, SIGNED_UP)
    [contact_id] = enrol_contacts(committed_db, project_id, sequence_id, 1)
    with committed_db.session() as session:
        run_due(session, now=utcnow(), sending_domain="letter.localhost")
    later = utcnow() + timedelta(minutes=2)  # the timeout is due
    engine_holds = threading.Event()
    errors: list[BaseException] = []

    def engine() -> None:
        try:
            with committed_db.session() as session:
                original = session.execute

                def slow(*args, **kwargs):  # hold the claimed row while ingestion tries
                    result = original(*args, **kwargs)
                    if not engine_holds.is_set():
                        engine_holds.set()
                        time.sleep(0.5)
                    return result

                session.execute = slow  # type: ignore[method-assign]
                run_due(session, now=later, sending_domain="letter.localhost")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=engine)
    thread.start()
    engine_holds.wait(10)
    with committed_db.session() as session:
        project = session.get(Project, project_id)
        Triggers().event_inserted(session, project, _event(contact_id), False)
    thread.join(30)
    assert not errors
    with committed_db.session() as session:
        run_due(session, now=later, sending_domain="letter.localhost")
        subjects = list(session.scalars(select(Message.subject)))
        enrolment = session.scalars(select(Enrollment)).one()
    assert subjects == ["Timed out"]
    assert enrolment.state == EnrollmentState.COMPLETED and enrolment.resume is None


def test_parallel_engines_run_each_step_once(committed_db):
    graph = chain(node("t", "trigger"), email("e", "Hi"),
                  node("w", "wait", duration={"value": 1, "unit": "days"}))
    project_id, sequence_id = published(committed_db, graph, SIGNED_UP)
    enrol_contacts(committed_db, project_id, sequence_id, 300)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while True:
                with committed_db.session() as session:
                    if not run_due(session, now=utcnow(), sending_domain="letter.localhost",
                                   limit=20):
                        return
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    with committed_db.session() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 300
        assert session.scalar(select(func.count(func.distinct(Message.contact_id)))) == 300
        states = set(session.scalars(select(Enrollment.state)))
        assert states == {EnrollmentState.WAITING}
        assert session.scalar(select(func.count()).select_from(Contact)) == 300
