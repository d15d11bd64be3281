"""Contact totals for page headers, without counting a million rows per view.

A page asks ``totals``: up to ``BOUND`` contacts are counted on the spot
(an index range of at most ``BOUND`` entries: a few milliseconds), which is
exact for every small project; past it the answer comes from the
``contact_counts`` row that the ``contacts.recount`` job refreshes, and a
project with no row yet is queued for a count.

>>> totals(session, project.id).label     # doctest: +SKIP
'1,000,000'
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from letter.clock import utcnow
from letter.contacts.models import Contact, ContactCount
from letter.jobs import enqueue
from letter.projects.models import Project

__all__ = ["BOUND", "MAX_AGE", "RECOUNT_JOB", "Totals", "bounded_count", "recount", "recount_stale",
           "totals"]

BOUND = 10_000
MAX_AGE = timedelta(minutes=5)
RECOUNT_JOB = "contacts.recount"


@dataclass(frozen=True)
class Totals:
    value: int | None          # None: more than BOUND and not counted yet
    suppressed: int | None
    counted_at: datetime | None  # None: counted exactly just now

    @property
    def label(self) -> str:
        return f"{BOUND:,}+" if self.value is None else f"{self.value:,}"

    @property
    def suppressed_label(self) -> str:
        return "…" if self.suppressed is None else f"{self.suppressed:,}"


def bounded_count(session: Session, stmt: object, bound: int | None = None) -> int | None:
    """How many rows ``stmt`` (a select) yields, or None when more than
    ``bound`` (default ``BOUND``)."""
    bound = BOUND if bound is None else bound
    limited = stmt.limit(bound + 1).subquery()  # type: ignore[attr-defined]
    n = int(session.scalar(select(func.count()).select_from(limited)) or 0)
    return None if n > bound else n


def totals(session: Session, project_id: uuid.UUID) -> Totals:
    in_project = select(Contact.id).where(Contact.project_id == project_id)
    exact = bounded_count(session, in_project)
    if exact is not None:
        suppressed = bounded_count(session, in_project.where(Contact.unsubscribed_at.is_not(None)))
        return Totals(exact, suppressed, None)
    row = session.get(ContactCount, project_id)
    if row is None:  # later recounts: the periodic contacts.recount-stale
        enqueue(session, RECOUNT_JOB, {"project_id": str(project_id)},
                unique_key=f"{RECOUNT_JOB}:{project_id}")
    if row is None:
        return Totals(None, None, None)
    return Totals(row.total, row.suppressed, row.counted_at)


def recount(session: Session, project_id: uuid.UUID, now: datetime | None = None) -> None:
    """Count the project's contacts and store the totals (one scan for both)."""
    total, suppressed = session.execute(
        select(func.count(), func.count(Contact.unsubscribed_at))
        .where(Contact.project_id == project_id)).one()
    values = {"project_id": project_id, "total": int(total), "suppressed": int(suppressed),
              "counted_at": now or utcnow()}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(ContactCount).values(**values)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["project_id"],
        set_={k: stmt.excluded[k] for k in ("total", "suppressed", "counted_at")}))


def recount_stale(session: Session, now: datetime | None = None, limit: int = 10) -> int:
    """Recount the projects whose stored totals are older than ``MAX_AGE``."""
    now = now or utcnow()
    stale = session.scalars(
        select(ContactCount.project_id).join(Project, Project.id == ContactCount.project_id)
        .where(ContactCount.counted_at < now - MAX_AGE)
        .order_by(ContactCount.counted_at).limit(limit)).all()
    for project_id in stale:
        recount(session, project_id, now)
    return len(stale)
