"""An identify claims the contact an import created from an email alone.

A CSV row with an email and no user id makes a contact without an
``external_id``. The first identify of a new user id whose email is that
contact's takes it over (the contact gets the user id), so the person is
one contact, not two. Only contacts with no external id are claimed: a
contact with an id of its own is another user who happens to share the
address.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from letter.contacts.models import Contact
from letter.emails import email_key
from letter.ingestion.parse import Item

__all__ = ["claim_email_only_contacts"]


def claim_email_only_contacts(session: Session, project_id: uuid.UUID, items: list[Item],
                              known: set[str]) -> set[str]:
    """Give new users (not in ``known``) the email-only contacts their
    identify's email names; returns the user ids that claimed one."""
    wanted: dict[str, str] = {}
    for item in items:
        user = item.user_id
        if item.kind == "identify" and item.email and user is not None and user not in known:
            wanted.setdefault(email_key(item.email), user)
    if not wanted:
        return set()
    c = Contact
    # The (project_id, external_id) index answers this at once, and in the
    # common case (no email-only contacts at all) that is the only cost.
    any_email_only = session.scalar(select(c.id).where(
        c.project_id == project_id, c.external_id.is_(None)).limit(1))
    if any_email_only is None:
        return set()
    found = session.execute(
        select(c.id, c.email_key).where(c.project_id == project_id, c.external_id.is_(None),
                                        c.email_key.in_(wanted))
        .order_by(c.created_at, c.id))
    claimed: set[str] = set()
    taken: set[str] = set()
    for contact_id, key in found:
        if key is None or key in taken:
            continue
        taken.add(key)
        done = session.execute(update(c).where(c.id == contact_id, c.external_id.is_(None))
                               .values(external_id=wanted[key]))
        if done.rowcount:  # type: ignore[attr-defined]
            claimed.add(wanted[key])
    return claimed
