"""The Liquid variables an email renders with: ``contact``, ``account``,
``event``, ``data``, ``project`` and ``unsubscribe_url``.

>>> render_context(project, contact, None, {}, "https://l.test/u/x")["contact"]["email"]
... # doctest: +SKIP
'ada@example.com'
"""

from __future__ import annotations

from typing import Any

from letter.delivery.store import AccountRow, ContactRow, ProjectRow

__all__ = ["render_context"]


def render_context(
    project: ProjectRow, contact: ContactRow | None, account: AccountRow | None,
    data: dict[str, Any], unsubscribe_url: str, email: str | None = None,
) -> dict[str, Any]:
    return {
        "contact": {
            "id": str(contact.id), "external_id": contact.external_id,
            "email": contact.email, "traits": contact.traits or {},
        } if contact else {"email": email, "traits": {}},
        "account": {"id": str(account.id), "external_id": account.external_id,
                    "name": account.name, "traits": account.traits or {}} if account else {},
        "event": data.get("event") or {},
        "data": data,
        "project": {"name": project.name, "slug": project.slug},
        "unsubscribe_url": unsubscribe_url,
    }
