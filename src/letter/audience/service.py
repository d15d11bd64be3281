"""Lists: static sets of contacts; and the one rule for ``opt_in`` topics at
creation that every path creating contacts calls (identify, batch, import,
delivery to a new address). Topics and subscriptions are in ``topics.py``.

Services take a Session and plain values and never commit.

>>> team = create_list(session, project.id, "Beta testers", None)         # doctest: +SKIP
>>> add_members(session, project.id, team.id, external_ids=["u1", "nobody"])  # doctest: +SKIP
MembersResult(added=1, already_members=0, not_found=['nobody'])
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from letter.audience.models import ContactList, ListMember, Topic, TopicDefault, TopicSubscription
from letter.clock import utcnow
from letter.contacts.models import Contact
from letter.contacts.service import get_contact
from letter.db.bulk import driver_rows
from letter.db.pagination import PageParams, PageResult, paginate
from letter.emails import InvalidEmail, email_key, normalize_email
from letter.errors import Conflict, Invalid, NotFound

__all__ = [
    "MembersResult",
    "add_members",
    "contact_lists",
    "create_list",
    "delete_list",
    "get_list",
    "insert_ignoring_duplicates",
    "list_lists",
    "list_members",
    "member_count",
    "remove_member",
    "subscribe_new_contacts",
    "text_field",
    "update_list",
]


@dataclass(frozen=True)
class MembersResult:
    added: int
    already_members: int
    not_found: list[str]

_OPT_IN_TOPICS = f'SELECT id FROM {Topic.__tablename__} WHERE project_id = ? AND "default" = ?'


def subscribe_new_contacts(
    session: Session, project_id: uuid.UUID, contact_ids: Collection[uuid.UUID]
) -> None:
    """Subscribe contacts that were just created to the project's ``opt_in`` topics.

    Call it once per batch with the ids of the contacts the batch created
    (never with existing contacts: their choices stand)::

        subscribe_new_contacts(session, project.id, created_ids)
    """
    if not contact_ids:
        return
    # Every ingestion batch that creates a contact asks: read at the driver level.
    topic_ids = [
        t if isinstance(t, uuid.UUID) else uuid.UUID(t)
        for (t,) in driver_rows(session, _OPT_IN_TOPICS, project_id, TopicDefault.OPT_IN.value)
    ]
    if not topic_ids:
        return
    session.execute(
        insert(TopicSubscription),
        [
            {"project_id": project_id, "topic_id": t, "contact_id": c, "subscribed": True}
            for t in topic_ids
            for c in contact_ids
        ],
    )


def insert_ignoring_duplicates(session: Session, model: Any, rows: list[dict[str, Any]]) -> int:
    """Insert ``rows``, skipping any whose primary key exists (a concurrent
    request may have added it); returns how many were inserted."""
    if not rows:
        return 0
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite_insert
    first_key = next(iter(model.__table__.primary_key))
    stmt = dialect_insert(model).values(rows).on_conflict_do_nothing().returning(first_key)
    return len(session.execute(stmt).all())


def text_field(changes: dict[str, Any], key: str) -> str | None:
    """A trimmed name-like value from ``changes`` (``Invalid`` when blank or null)."""
    value = changes.get(key)
    if value is None or not str(value).strip():
        raise Invalid(f"{key}: must not be empty")
    return str(value).strip()


def list_lists(session: Session, project_id: uuid.UUID, page: PageParams
               ) -> PageResult[ContactList]:
    stmt = select(ContactList).where(ContactList.project_id == project_id)
    return paginate(session, stmt, ContactList, page)


def get_list(session: Session, project_id: uuid.UUID, list_id: uuid.UUID) -> ContactList:
    found = session.scalars(select(ContactList).where(
        ContactList.project_id == project_id, ContactList.id == list_id)).one_or_none()
    if found is None:
        raise NotFound(f"No list {list_id} in this project.")
    return found


def member_count(session: Session, contact_list: ContactList) -> int:
    return int(session.scalar(select(func.count()).select_from(ListMember).where(
        ListMember.project_id == contact_list.project_id,
        ListMember.list_id == contact_list.id)) or 0)


def _unique_name(session: Session, project_id: uuid.UUID, name: str,
                 other_than: uuid.UUID | None = None) -> None:
    stmt = select(ContactList.id).where(ContactList.project_id == project_id,
                                        ContactList.name == name)
    if other_than is not None:
        stmt = stmt.where(ContactList.id != other_than)
    if session.scalar(stmt) is not None:
        raise Conflict(f'A list named "{name}" exists in this project.')


def create_list(session: Session, project_id: uuid.UUID, name: str,
                description: str | None) -> ContactList:
    name = text_field({"name": name}, "name") or ""
    _unique_name(session, project_id, name)
    created = ContactList(project_id=project_id, name=name, description=description)
    session.add(created)
    session.flush()
    return created


def update_list(session: Session, project_id: uuid.UUID, list_id: uuid.UUID,
                changes: dict[str, Any]) -> ContactList:
    """Apply ``name`` and/or ``description`` (null clears a description)."""
    found = get_list(session, project_id, list_id)
    if "name" in changes:
        name = text_field(changes, "name") or ""
        _unique_name(session, project_id, name, other_than=found.id)
        found.name = name
    if "description" in changes:
        found.description = changes["description"]
    found.updated_at = utcnow()
    session.flush()
    return found


def delete_list(session: Session, project_id: uuid.UUID, list_id: uuid.UUID) -> None:
    """Delete a list and its memberships (a filter naming it then matches no member)."""
    session.delete(get_list(session, project_id, list_id))
    session.flush()


def list_members(session: Session, project_id: uuid.UUID, list_id: uuid.UUID,
                 page: PageParams) -> PageResult[Contact]:
    get_list(session, project_id, list_id)
    stmt = (select(Contact).join(ListMember, ListMember.contact_id == Contact.id)
            .where(Contact.project_id == project_id, ListMember.project_id == project_id,
                   ListMember.list_id == list_id))
    return paginate(session, stmt, Contact, page)


def _by_external_ids(session: Session, project_id: uuid.UUID, wanted: list[str]
                     ) -> tuple[set[uuid.UUID], list[str]]:
    for i, ident in enumerate(wanted):
        if not ident or len(ident) > 255:
            raise Invalid(f"external_ids[{i}]: must be 1-255 characters")
    rows = session.execute(select(Contact.external_id, Contact.id).where(
        Contact.project_id == project_id, Contact.external_id.in_(set(wanted)))).all()
    found = {external_id: cid for external_id, cid in rows}
    return set(found.values()), [w for w in dict.fromkeys(wanted) if w not in found]


def _by_emails(session: Session, project_id: uuid.UUID, wanted: list[str]
               ) -> tuple[set[uuid.UUID], list[str]]:
    keys: dict[str, str] = {}
    for i, raw in enumerate(wanted):
        try:
            keys.setdefault(raw, email_key(normalize_email(raw)))
        except InvalidEmail as exc:
            raise Invalid(f"emails[{i}]: {exc}") from exc
    rows = session.execute(select(Contact.email_key, Contact.id).where(
        Contact.project_id == project_id, Contact.email_key.in_(set(keys.values())))).all()
    seen = {key for key, _ in rows}
    return {cid for _, cid in rows}, [raw for raw, key in keys.items() if key not in seen]


def add_members(session: Session, project_id: uuid.UUID, list_id: uuid.UUID, *,
                external_ids: list[str] | None = None,
                emails: list[str] | None = None) -> MembersResult:
    """Add contacts by external id or by email (exactly one of the two)."""
    if (external_ids is None) == (emails is None):
        raise Invalid("Give exactly one of external_ids and emails.")
    found_list = get_list(session, project_id, list_id)
    if external_ids is not None:
        ids, not_found = _by_external_ids(session, project_id, external_ids)
    else:
        ids, not_found = _by_emails(session, project_id, emails or [])
    already: set[uuid.UUID] = set()
    if ids:
        already = set(session.scalars(select(ListMember.contact_id).where(
            ListMember.project_id == project_id, ListMember.list_id == found_list.id,
            ListMember.contact_id.in_(ids))))
    now = utcnow()
    added = insert_ignoring_duplicates(session, ListMember, [
        {"project_id": project_id, "list_id": found_list.id, "contact_id": cid, "added_at": now}
        for cid in sorted(ids - already)])
    return MembersResult(added, len(ids) - added, not_found)


def remove_member(session: Session, project_id: uuid.UUID, list_id: uuid.UUID,
                  external_id: str) -> None:
    """Take a contact (by external id, else email) off a list; a contact not
    on it is left as it is."""
    found_list = get_list(session, project_id, list_id)
    contact = get_contact(session, project_id, external_id)
    session.execute(delete(ListMember).where(
        ListMember.project_id == project_id, ListMember.list_id == found_list.id,
        ListMember.contact_id == contact.id))


def contact_lists(session: Session, project_id: uuid.UUID, contact_id: uuid.UUID
                  ) -> list[ContactList]:
    """The lists a contact is in, oldest list first."""
    return list(session.scalars(
        select(ContactList).join(ListMember, ListMember.list_id == ContactList.id)
        .where(ListMember.project_id == project_id, ListMember.contact_id == contact_id)
        .order_by(ContactList.created_at, ContactList.id)))
