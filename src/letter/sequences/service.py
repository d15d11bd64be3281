"""The rules of sequences: drafts under optimistic concurrency, publishing
immutable versions, archiving, and removing a contact from a flow.

>>> sequence = create_sequence(session, project.id, "Onboarding")    # doctest: +SKIP
>>> save_draft(session, sequence, graph, trigger, expected_revision=0)  # doctest: +SKIP
>>> publish(session, sequence, user_id).version_number              # doctest: +SKIP
1
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from letter.clock import utcnow
from letter.contacts.models import Contact
from letter.db.pagination import PageParams, PageResult, paginate, paginate_sorted
from letter.errors import Conflict, Invalid, NotFound
from letter.sequences.checks import publish_errors
from letter.sequences.graph import parse_graph, parse_trigger
from letter.sequences.models import (
    RUNNING,
    Enrollment,
    EnrollmentState,
    Sequence,
    SequenceStatus,
    SequenceVersion,
)
from letter.sequences.triggers import bump_index
from letter.templates.models import Template

__all__ = [
    "create_sequence",
    "delete_sequence",
    "exit_contact",
    "get_sequence",
    "list_sequences",
    "list_versions",
    "publish",
    "save_draft",
    "update_sequence",
    "validate",
]

EMPTY_GRAPH: dict[str, Any] = {"nodes": [], "edges": []}


def list_sequences(session: Session, project_id: uuid.UUID, page: PageParams
                   ) -> PageResult[Sequence]:
    return paginate(session, select(Sequence).where(Sequence.project_id == project_id),
                    Sequence, page)


def get_sequence(session: Session, project_id: uuid.UUID, sequence_id: uuid.UUID) -> Sequence:
    sequence = session.scalar(select(Sequence).where(Sequence.project_id == project_id,
                                                     Sequence.id == sequence_id))
    if sequence is None:
        raise NotFound("No such sequence in this project.")
    return sequence


def _name(name: str | None) -> str:
    if name is None:
        return "Untitled sequence"
    name = name.strip()
    if not name:
        raise Invalid("name: must not be empty")
    return name


def create_sequence(session: Session, project_id: uuid.UUID, name: str | None) -> Sequence:
    now = utcnow()
    sequence = Sequence(project_id=project_id, name=_name(name), status=SequenceStatus.ACTIVE,
                        trigger=None, draft_graph=EMPTY_GRAPH, draft_revision=0,
                        created_at=now, updated_at=now)
    session.add(sequence)
    session.flush()
    return sequence


def update_sequence(session: Session, sequence: Sequence, name: str | None,
                    status: str | None, now: datetime | None = None) -> Sequence:
    """Rename, archive (stops new enrolments, exits running ones) or restore."""
    now = now or utcnow()
    if name is not None:
        sequence.name = _name(name)
    if status is not None and status != sequence.status:
        if status not in tuple(SequenceStatus):
            raise Invalid('status: must be "active" or "archived"')
        sequence.status = status
        if status == SequenceStatus.ARCHIVED:
            exit_running(session, sequence.project_id, "archived", now,
                         Enrollment.sequence_id == sequence.id)
        bump_index(session, sequence.project_id)
    sequence.updated_at = now
    session.flush()
    return sequence


def delete_sequence(session: Session, sequence: Sequence) -> None:
    session.delete(sequence)
    bump_index(session, sequence.project_id)
    session.flush()


def save_draft(session: Session, sequence: Sequence, graph: Any, trigger: Any,
               expected_revision: int) -> Sequence:
    """Replace the draft if ``expected_revision`` is current (else 409 naming it)."""
    if expected_revision != sequence.draft_revision:
        raise Conflict(f"Stale revision {expected_revision}: the draft is at revision "
                       f"{sequence.draft_revision}. Reload it and apply your change again.",
                       current_revision=sequence.draft_revision)
    parse_graph(graph)
    if trigger is not None:
        trigger = parse_trigger(trigger)
    # Compare-and-set, so two writers holding the same revision cannot both win.
    done = session.execute(
        update(Sequence).where(Sequence.id == sequence.id,
                               Sequence.draft_revision == expected_revision)
        .values(draft_graph=graph, trigger=trigger, draft_revision=expected_revision + 1,
                updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(sequence)
        raise Conflict(f"Stale revision {expected_revision}: the draft is at revision "
                       f"{sequence.draft_revision}.", current_revision=sequence.draft_revision)
    session.refresh(sequence)
    return sequence


def validate(session: Session, sequence: Sequence) -> list[dict[str, Any]]:
    def template_exists(template_id: str) -> bool:
        try:
            wanted = uuid.UUID(template_id)
        except ValueError:
            return False
        return session.scalar(select(Template.id).where(
            Template.project_id == sequence.project_id, Template.id == wanted)) is not None

    return publish_errors(sequence.draft_graph, sequence.trigger, template_exists)


def publish(session: Session, sequence: Sequence, user_id: uuid.UUID | None) -> SequenceVersion:
    """Snapshot the draft as the next immutable version; new enrolments use it,
    running ones stay on theirs."""
    errors = validate(session, sequence)
    if errors:
        raise Invalid(f"The draft fails {len(errors)} publish check(s): "
                      + "; ".join(e["message"] for e in errors[:3]), errors=errors)
    number = (session.scalar(select(func.max(SequenceVersion.version_number)).where(
        SequenceVersion.project_id == sequence.project_id,
        SequenceVersion.sequence_id == sequence.id)) or 0) + 1
    now = utcnow()
    version = SequenceVersion(project_id=sequence.project_id, sequence_id=sequence.id,
                              version_number=number, trigger=sequence.trigger,
                              graph=sequence.draft_graph, published_by=user_id,
                              published_at=now)
    session.add(version)
    session.flush()
    sequence.published_version_id = version.id
    sequence.updated_at = now
    bump_index(session, sequence.project_id)
    session.flush()
    return version


def list_versions(session: Session, sequence: Sequence, page: PageParams
                  ) -> PageResult[SequenceVersion]:
    """Versions in publishing order, keyset on the version number."""
    stmt = select(SequenceVersion).where(SequenceVersion.project_id == sequence.project_id,
                                         SequenceVersion.sequence_id == sequence.id)
    return paginate_sorted(list(session.scalars(stmt)), lambda v: (v.version_number,), page)


def exit_running(session: Session, project_id: uuid.UUID, reason: str, now: datetime,
                 *where: Any) -> int:
    """End the matching running enrolments as ``exited``; returns how many."""
    result = session.execute(
        update(Enrollment).where(Enrollment.project_id == project_id,
                                 Enrollment.state.in_(RUNNING), *where)
        .values(state=EnrollmentState.EXITED, reason=reason, next_run_at=None, resume=None,
                finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def exit_contact(session: Session, sequence: Sequence, external_id: str) -> Enrollment:
    """Remove one contact from the sequence now (404 when it is not running in it)."""
    contact_id = session.scalar(select(Contact.id).where(
        Contact.project_id == sequence.project_id, Contact.external_id == external_id))
    if contact_id is None:
        raise NotFound(f'No contact with external_id "{external_id}" in this project.')
    enrollment = session.scalar(select(Enrollment).where(
        Enrollment.project_id == sequence.project_id, Enrollment.sequence_id == sequence.id,
        Enrollment.contact_id == contact_id, Enrollment.state.in_(RUNNING)))
    if enrollment is None:
        raise NotFound(f'Contact "{external_id}" is not running in this sequence.')
    exit_running(session, sequence.project_id, "manual", utcnow(),
                 Enrollment.id == enrollment.id)
    session.refresh(enrollment)
    return enrollment
