"""The audience's read side and suppressions: what the Management API shows
of the contacts, accounts and events ingestion builds.

Contacts are created by ingestion (``letter.ingestion``), never here.

>>> page = list_contacts(session, project.id, PageParams(limit=10))     # doctest: +SKIP
>>> suppress_contact(session, project.id, "user_alice")                 # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from letter.clock import utcnow
from letter.contacts.models import Account, Contact, Event
from letter.db.pagination import PageParams, PageResult, paginate
from letter.emails import InvalidEmail, email_key, normalize_email
from letter.errors import Invalid, NotFound

__all__ = [
    "RECENT_EVENTS",
    "AccountDetail",
    "ContactDetail",
    "account_detail",
    "contact_detail",
    "find_by_email",
    "get_contact",
    "list_accounts",
    "list_contacts",
    "list_events",
    "list_suppressions",
    "reserved_external_id",
    "resubscribe_contact",
    "resubscribe_email",
    "suppress_contact",
    "suppress_email",
]

RECENT_EVENTS = 20
RESERVED_SUBRESOURCES = frozenset({"imports", "exports", "search"})
# An account page shows at most this many linked contacts (the oldest first).
ACCOUNT_CONTACTS = 100
MANUAL = "manual"


@dataclass(frozen=True)
class ContactDetail:
    contact: Contact
    account: Account | None
    recent_events: list[Event]


@dataclass(frozen=True)
class AccountDetail:
    account: Account
    contacts: list[Contact]


def list_contacts(session: Session, project_id: uuid.UUID, page: PageParams) -> PageResult[Contact]:
    return paginate(session, select(Contact).where(Contact.project_id == project_id), Contact, page)


def reserved_external_id(external_id: str) -> str | None:
    """The reserved sub-resource ``external_id`` would collide with, if any.

    ``…/contacts/imports``, ``…/contacts/exports`` and ``…/contacts/search``
    (and anything below them) name collections, never a contact.

    >>> reserved_external_id("exports/2026"), reserved_external_id("ada")
    ('exports', None)
    """
    head = external_id.split("/", 1)[0]
    return head if head in RESERVED_SUBRESOURCES else None


def get_contact(session: Session, project_id: uuid.UUID, external_id: str) -> Contact:
    reserved = reserved_external_id(external_id)
    if reserved is not None:
        raise NotFound(f'"contacts/{reserved}" is reserved for contact {reserved}, not an id.')
    contact = session.scalars(
        select(Contact).where(Contact.project_id == project_id, Contact.external_id == external_id)
    ).one_or_none()
    if contact is None and "@" in external_id:
        # A contact with an email and no external id (a CSV row) goes by its email.
        contact = session.scalars(
            select(Contact)
            .where(Contact.project_id == project_id, Contact.external_id.is_(None),
                   Contact.email_key == _key(external_id))
            .order_by(Contact.created_at, Contact.id).limit(1)
        ).first()
    if contact is None:
        raise NotFound(f'No contact "{external_id}" in this project.')
    return contact


def contact_detail(session: Session, project_id: uuid.UUID, external_id: str) -> ContactDetail:
    """The contact, its account and its latest events (by when they happened)."""
    contact = get_contact(session, project_id, external_id)
    account = session.get(Account, contact.account_id) if contact.account_id else None
    events = session.scalars(
        select(Event)
        .where(Event.project_id == project_id, Event.contact_id == contact.id)
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(RECENT_EVENTS)
    ).all()
    return ContactDetail(contact, account, list(events))


def _suppress(contact: Contact, reason: str, now: datetime) -> None:
    # Already suppressed keeps its first instant and reason (a bounce stays a bounce).
    if contact.unsubscribed_at is None:
        contact.unsubscribed_at = now
        contact.unsubscribe_reason = reason
        contact.updated_at = now


def _resubscribe(contact: Contact, now: datetime) -> None:
    if contact.unsubscribed_at is not None:
        contact.unsubscribed_at = None
        contact.unsubscribe_reason = None
        contact.updated_at = now


def suppress_contact(
    session: Session, project_id: uuid.UUID, external_id: str, reason: str = MANUAL
) -> Contact:
    contact = get_contact(session, project_id, external_id)
    _suppress(contact, reason, utcnow())
    session.flush()
    return contact


def resubscribe_contact(session: Session, project_id: uuid.UUID, external_id: str) -> Contact:
    contact = get_contact(session, project_id, external_id)
    _resubscribe(contact, utcnow())
    session.flush()
    return contact


def list_suppressions(
    session: Session, project_id: uuid.UUID, page: PageParams
) -> PageResult[Contact]:
    stmt = select(Contact).where(
        Contact.project_id == project_id, Contact.unsubscribed_at.is_not(None)
    )
    return paginate(session, stmt, Contact, page)


def _key(email: str) -> str:
    """The identity of ``email`` by Letter's rule; a malformed one as written."""
    try:
        return email_key(normalize_email(email))
    except InvalidEmail:
        return email_key(email)


def _by_email(session: Session, project_id: uuid.UUID, email: str) -> list[Contact]:
    stmt = (
        select(Contact)
        .where(Contact.project_id == project_id, Contact.email_key == _key(email))
        .order_by(Contact.created_at, Contact.id)
    )
    return list(session.scalars(stmt))


def find_by_email(session: Session, project_id: uuid.UUID, email: str) -> Contact | None:
    """The project's first contact with this address, in any letter case."""
    found = _by_email(session, project_id, email)
    return found[0] if found else None


def suppress_email(
    session: Session, project_id: uuid.UUID, email: str, reason: str = MANUAL
) -> Contact:
    """Suppress every contact with this email; returns the first of them."""
    try:
        normalize_email(email)
    except InvalidEmail as exc:
        raise Invalid(f"email: {exc}") from exc
    contacts = _by_email(session, project_id, email)
    if not contacts:
        raise NotFound(f'No contact with email "{email}" in this project.')
    now = utcnow()
    for contact in contacts:
        _suppress(contact, reason, now)
    session.flush()
    return contacts[0]


def resubscribe_email(session: Session, project_id: uuid.UUID, email: str) -> None:
    suppressed = [c for c in _by_email(session, project_id, email) if c.unsubscribed_at]
    if not suppressed:
        raise NotFound(f'"{email}" is not on this project\'s suppression list.')
    now = utcnow()
    for contact in suppressed:
        _resubscribe(contact, now)
    session.flush()


def list_accounts(session: Session, project_id: uuid.UUID, page: PageParams) -> PageResult[Account]:
    return paginate(session, select(Account).where(Account.project_id == project_id), Account, page)


def account_detail(session: Session, project_id: uuid.UUID, external_id: str) -> AccountDetail:
    account = session.scalars(
        select(Account).where(Account.project_id == project_id, Account.external_id == external_id)
    ).one_or_none()
    if account is None:
        raise NotFound(f'No account "{external_id}" in this project.')
    contacts = session.scalars(
        select(Contact)
        .where(Contact.project_id == project_id, Contact.account_id == account.id)
        .order_by(Contact.created_at, Contact.id)
        .limit(ACCOUNT_CONTACTS)
    ).all()
    return AccountDetail(account, list(contacts))


def list_events(
    session: Session, project_id: uuid.UUID, page: PageParams, name: str | None = None
) -> PageResult[Event]:
    """The event stream, newest received first, optionally of one event name."""
    stmt = select(Event).where(Event.project_id == project_id)
    if name is not None:
        stmt = stmt.where(Event.name == name)
    return paginate(session, stmt, Event, page, newest_first=True)
