"""Triggers, evaluated synchronously in the ingestion transaction.

Each process keeps an index of the published triggers per project (event
name → flows, the ``contact_created`` flows, and which event names some
``wait_event`` or ``exitOn`` listens for). A counter per project
(``sequence_index_versions``), bumped by publish, archive, restore and
delete, is read once per ingestion transaction; a change reloads the index,
so every process sees a publish at its next ingestion.

>>> unsubscribe = install()      # create_app does this once per process
"""

from __future__ import annotations

import threading
import uuid
from collections import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from letter.clock import iso, utcnow
from letter.contacts.models import Contact
from letter.db.bulk import driver_rows
from letter.ids import uuid7
from letter.ingestion import hooks
from letter.projects.models import Project
from letter.segments.evaluate import ContactView, matches
from letter.segments.service import contact_view
from letter.sequences.flows import (
    EventTriggers,
    Flow,
    compile_flow,
    remember,
    same_value,
    where_matches,
)
from letter.sequences.models import (
    RUNNING,
    Enrollment,
    EnrollmentState,
    Sequence,
    SequenceIndexVersion,
    SequenceStatus,
    SequenceVersion,
)

__all__ = ["ProjectIndex", "Triggers", "bump_index", "index_for", "install"]

_SESSION_KEY = "letter.sequences.index"
MAX_PROJECTS = 10_000


@dataclass
class ProjectIndex:
    version: int
    by_event: dict[str, EventTriggers] = field(default_factory=dict)
    on_created: list[Flow] = field(default_factory=list)
    flows: dict[uuid.UUID, Flow] = field(default_factory=dict)  # every version
    listened: set[str] = field(default_factory=set)  # wait_event and exitOn names


_indexes: dict[uuid.UUID, ProjectIndex] = {}
_lock = threading.Lock()


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert


def bump_index(session: Session, project_id: uuid.UUID) -> None:
    """Tell every process to reload this project's trigger index."""
    stmt = _insert(session)(SequenceIndexVersion).values(project_id=project_id, version=1)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["project_id"], set_={"version": SequenceIndexVersion.version + 1}))
    session.info.pop((_SESSION_KEY, project_id), None)


def _build(session: Session, project_id: uuid.UUID, version: int) -> ProjectIndex:
    index = ProjectIndex(version)
    rows = session.execute(
        select(SequenceVersion.id, SequenceVersion.sequence_id, SequenceVersion.trigger,
               SequenceVersion.graph, Sequence.status, Sequence.published_version_id)
        .join(Sequence, Sequence.id == SequenceVersion.sequence_id)
        .where(SequenceVersion.project_id == project_id))
    for row in rows:
        flow = remember(compile_flow(row.sequence_id, row.id, row.trigger, row.graph))
        index.flows[row.id] = flow
        index.listened |= {n.config["eventName"] for n in flow.graph.nodes.values()
                           if n.type == "wait_event"}
        if flow.exit_on:
            index.listened.add(flow.exit_on.event_name)
        if row.status != SequenceStatus.ACTIVE or row.published_version_id != row.id:
            continue
        if flow.trigger["type"] == "event":
            index.by_event.setdefault(flow.trigger["eventName"], EventTriggers()).add(flow)
        else:
            index.on_created.append(flow)
    return index


# Read on every ingestion transaction: a Core statement on the table, built
# once, skips the ORM's per-call work (and hits the compiled cache).
_VERSION = (f"SELECT version FROM {SequenceIndexVersion.__tablename__}"
            " WHERE project_id = ?")


def index_for(session: Session, project_id: uuid.UUID) -> ProjectIndex:
    """The project's index, checked against the counter once per transaction."""
    key = (_SESSION_KEY, project_id)
    found: ProjectIndex | None = session.info.get(key)
    if found is not None:
        return found
    found_version = driver_rows(session, _VERSION, project_id)
    version = found_version[0][0] if found_version else 0
    with _lock:
        index = _indexes.get(project_id)
    if index is None or index.version != version:
        index = _build(session, project_id, version)
        with _lock:
            if len(_indexes) >= MAX_PROJECTS:
                _indexes.clear()
            _indexes[project_id] = index
    session.info[key] = index
    return index


def _event_json(event: hooks.IngestedEvent) -> dict[str, Any]:
    return {"id": str(event.id), "name": event.name, "properties": event.properties,
            "occurred_at": iso(event.occurred_at)}


def enrol(session: Session, project_id: uuid.UUID, flow: Flow, contact_id: uuid.UUID,
          event: dict[str, Any], now: datetime) -> bool:
    """Start ``contact_id`` on ``flow`` unless it runs there already (or ever
    did, with ``oncePerContact``); returns whether it was enrolled."""
    if flow.once_per_contact and session.scalar(select(Enrollment.id).where(
            Enrollment.project_id == project_id, Enrollment.sequence_id == flow.sequence_id,
            Enrollment.contact_id == contact_id).limit(1)) is not None:
        return False
    # The partial unique index (one running enrolment per sequence and contact)
    # turns a second enrolment, even a concurrent one, into a no-op.
    stmt = _insert(session)(Enrollment).values(
        id=uuid7(), project_id=project_id, sequence_id=flow.sequence_id,
        version_id=flow.version_id, contact_id=contact_id, node_id=flow.start,
        state=EnrollmentState.ACTIVE, next_run_at=now, event=event, created_at=now,
        updated_at=now).on_conflict_do_nothing()
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def _passes_filter(session: Session, flow: Flow, contact_id: uuid.UUID, now: datetime,
                   view: ContactView | None = None) -> bool:
    if flow.filter is None:
        return True
    if view is None:
        contact = session.get(Contact, contact_id)
        if contact is None:
            return False
        view = contact_view(session, contact, flow.filter)
    return matches(flow.filter, view, now)


class Triggers:
    """The ingestion listener: enrols, resumes ``wait_event``s, applies ``exitOn``.

    Ingestion hands over a batch at a time; a batch that nothing listens for
    (no ``contact_created`` flow, no event a trigger, ``wait_event`` or
    ``exitOn`` names) costs one look at the index.
    """

    def contacts_created(self, session: Session, project: Project,
                         contacts: abc.Sequence[hooks.IngestedContact],
                         skip_triggers: bool) -> None:
        if skip_triggers or not contacts or not index_for(session, project.id).on_created:
            return
        for contact in contacts:
            self.contact_created(session, project, contact, skip_triggers)

    def events_inserted(self, session: Session, project: Project,
                        events: abc.Sequence[hooks.IngestedEvent], skip_triggers: bool) -> None:
        if skip_triggers:
            return
        linked = [e for e in events if e.contact_id is not None]
        if not linked:
            return
        index = index_for(session, project.id)
        for event in linked:
            if event.name in index.listened or event.name in index.by_event:
                self.event_inserted(session, project, event, skip_triggers)

    def contact_created(self, session: Session, project: Project,
                        contact: hooks.IngestedContact, skip_triggers: bool) -> None:
        if skip_triggers:
            return
        index = index_for(session, project.id)
        now = utcnow()
        for flow in index.on_created:
            if _passes_filter(session, flow, contact.id, now):
                enrol(session, project.id, flow, contact.id, {}, now)

    def event_inserted(self, session: Session, project: Project, event: hooks.IngestedEvent,
                       skip_triggers: bool) -> None:
        # A backfill (skip_triggers) neither enrols nor moves anyone along.
        if skip_triggers or event.contact_id is None:
            return
        index = index_for(session, project.id)
        now = utcnow()
        if event.name in index.listened:
            self._react(session, project.id, index, event, now)
        triggered = index.by_event.get(event.name)
        if triggered is None:
            return
        for flow in triggered.candidates(event.properties):
            if where_matches(flow.where, event.properties) and _passes_filter(
                    session, flow, event.contact_id, now):
                enrol(session, project.id, flow, event.contact_id, _event_json(event), now)

    @staticmethod
    def _react(session: Session, project_id: uuid.UUID, index: ProjectIndex,
               event: hooks.IngestedEvent, now: datetime) -> None:
        running = session.execute(select(
            Enrollment.id, Enrollment.version_id, Enrollment.node_id, Enrollment.state,
            Enrollment.resume, Enrollment.event).where(
            Enrollment.project_id == project_id, Enrollment.contact_id == event.contact_id,
            Enrollment.state.in_(RUNNING))).all()
        for row in running:
            flow = index.flows.get(row.version_id)
            if flow is None:
                continue
            exit_on = flow.exit_on
            if exit_on and exit_on.event_name == event.name \
                    and where_matches(exit_on.where, event.properties):
                _set(session, row, now, False, state=EnrollmentState.EXITED, next_run_at=None,
                     reason=f"exitOn: {event.name}", finished_at=now, resume=None)
                continue
            node = flow.graph.nodes.get(row.node_id)
            if row.state != EnrollmentState.WAITING or row.resume is not None or node is None \
                    or node.type != "wait_event" or node.config["eventName"] != event.name:
                continue
            match = node.config.get("match")
            if match and not same_value(event.properties.get(match["property"]),
                                        (row.event.get("properties") or {}).get(
                                            match["property"])):
                continue
            _set(session, row, now, True, resume="received", next_run_at=now)


def _set(session: Session, row: Any, now: datetime, unresumed: bool, **values: Any) -> None:
    # Conditional on the state read: if the engine moved the enrolment on in
    # the meantime (say, its timeout fired), this changes nothing.
    where = [Enrollment.id == row.id, Enrollment.node_id == row.node_id,
             Enrollment.state == row.state]
    if unresumed:
        where.append(Enrollment.resume.is_(None))
    session.execute(update(Enrollment).where(*where).values(updated_at=now, **values)
                    .execution_options(synchronize_session=False))


_installed: list[Any] = []


def install() -> Any:
    """Subscribe the listener to ingestion once per process (idempotent)."""
    if not _installed:
        _installed.append(hooks.subscribe(Triggers()))
    return _installed[0]
