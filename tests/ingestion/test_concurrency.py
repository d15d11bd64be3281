"""Deep merges stay atomic when many requests identify the same user at once
(real threads, real commits, on both databases)."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import func, select

from letter.auth import service as auth_service
from letter.contacts.models import Account, Contact
from letter.db.engine import Database
from letter.ingestion import service
from letter.projects import service as project_service
from letter.projects.models import Project

THREADS = 8


def make_project(db: Database) -> uuid.UUID:
    with db.session() as session:
        _user, workspace, _token = auth_service.bootstrap(
            session, email=f"{uuid.uuid4().hex[:8]}@example.com", workspace_name="ws")
        return project_service.create_project(session, workspace.id, "Acme", None).id


def run_threads(db: Database, project_id: uuid.UUID, bodies: list[dict]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(bodies))

    def work(body: dict) -> None:
        try:
            barrier.wait()
            with db.session() as session:
                project = session.get(Project, project_id)
                assert project is not None
                service.ingest_batch(session, project, body)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_identifies_of_a_new_user_keep_every_key(committed_db):
    project_id = make_project(committed_db)
    bodies = [{"batch": [{"type": "identify", "user_id": "same",
                          "traits": {f"k{i}": i, "nested": {f"n{i}": i}}},
                         {"type": "group", "user_id": "same", "account_id": "acct",
                          "traits": {f"a{i}": i}}]}
              for i in range(THREADS)]
    assert run_threads(committed_db, project_id, bodies) == []
    with committed_db.session() as session:
        contacts = session.scalars(select(Contact)).all()
        accounts = session.scalars(select(Account)).all()
    assert len(contacts) == 1 and len(accounts) == 1
    traits = contacts[0].traits
    assert {k: v for k, v in traits.items() if k != "nested"} == {
        f"k{i}": i for i in range(THREADS)}
    assert traits["nested"] == {f"n{i}": i for i in range(THREADS)}
    assert accounts[0].traits == {f"a{i}": i for i in range(THREADS)}
    assert contacts[0].account_id == accounts[0].id


def test_concurrent_identifies_of_an_existing_user_keep_every_key(committed_db):
    project_id = make_project(committed_db)
    run_threads(committed_db, project_id,
                [{"batch": [{"type": "identify", "user_id": "u", "traits": {"seed": 1}}]}])
    rounds = [{"batch": [{"type": "identify", "user_id": "u", "traits": {f"k{i}": i}},
                         {"type": "identify", "user_id": f"other{i}"}]}
              for i in range(THREADS)]
    assert run_threads(committed_db, project_id, rounds) == []
    with committed_db.session() as session:
        traits = session.scalar(select(Contact.traits).where(Contact.external_id == "u"))
        total = session.scalar(select(func.count()).select_from(Contact))
    assert traits == {"seed": 1, **{f"k{i}": i for i in range(THREADS)}}
    assert total == THREADS + 1


def test_concurrent_resends_of_one_message_apply_once(committed_db):
    project_id = make_project(committed_db)
    body = {"batch": [{"type": "track", "user_id": "u", "event": "E", "message_id": "m"}]}
    assert run_threads(committed_db, project_id, [body] * THREADS) == []
    with committed_db.session() as session:
        from letter.contacts.models import Event
        assert session.scalar(select(func.count()).select_from(Event)) == 1
