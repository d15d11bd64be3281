"""Preview and test-send an email node: the given config (camelCase, with
snake_case accepted) or, without one, the saved draft node's config.

>>> preview(session, project, sequence, "welcome", None, "you@acme.com").subject
... # doctest: +SKIP
'Welcome'
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from letter.contacts.models import Account, Contact
from letter.delivery.context import render_context
from letter.delivery.models import Message
from letter.delivery.service import compile_for, queue_message
from letter.domains.service import check_email
from letter.errors import Invalid
from letter.projects.models import Project
from letter.sequences.models import Sequence
from letter.templates.render import Rendered

__all__ = ["email_config", "preview", "send_test"]

TEST_PREFIX = "[Test] "
_SNAKE = {"body_doc": "bodyDoc", "template_id": "templateId", "send_window": "sendWindow"}
_KEYS = {"type", "subject", "preview", "bodyDoc", "templateId", "sendWindow"}


def email_config(sequence: Sequence, node_id: str, config: dict[str, Any] | None
                 ) -> dict[str, Any]:
    """The config to render: ``config`` normalised to camelCase, else the draft's."""
    if config is None:
        for node in sequence.draft_graph.get("nodes", []):
            if isinstance(node, dict) and node.get("id") == node_id:
                if node.get("type") != "email":
                    raise Invalid(f'node_id: node "{node_id}" is not an email node')
                return dict(node.get("config") or {})
        raise Invalid(f'node_id: no node "{node_id}" in the saved draft')
    normal = {_SNAKE.get(key, key): value for key, value in config.items()}
    for key in normal:
        if key not in _KEYS:
            raise Invalid(f"config.{key}: unknown field")
    if normal.get("type", "email") != "email":
        raise Invalid('config.type: must be "email"')
    return normal


def _content(session: Session, project: Project, config: dict[str, Any]) -> Any:
    template = config.get("templateId")
    try:
        template_id = uuid.UUID(template) if template else None
    except (ValueError, TypeError, AttributeError):
        raise Invalid("config.templateId: not a template id") from None
    if config.get("bodyDoc") is None:
        raise Invalid("config.bodyDoc: the email has no body")
    return template_id, compile_for(session, project.id, subject=config.get("subject") or "",
                                    preview=config.get("preview"),
                                    body_doc=config["bodyDoc"], template_id=template_id)


def _recipient(session: Session, project: Project, email: str) -> Contact | None:
    return session.scalars(select(Contact).where(Contact.project_id == project.id,
                                                 Contact.email == email).limit(1)).first()


def preview(session: Session, project: Project, sequence: Sequence, node_id: str,
            config: dict[str, Any] | None, recipient_email: str) -> Rendered:
    """Render the node for ``recipient_email`` (as that contact when one has it)."""
    email = check_email("recipient_email", recipient_email)
    _, content = _content(session, project, email_config(sequence, node_id, config))
    contact = _recipient(session, project, email)
    account = session.get(Account, contact.account_id) if contact and contact.account_id \
        else None
    # ORM rows carry every field the row protocols name
    context = render_context(project, cast(Any, contact), cast(Any, account), {"event": {}},
                             "https://unsubscribe.invalid/preview", email=email)
    rendered: Rendered = content.render(context)
    return rendered


def send_test(session: Session, project: Project, sequence: Sequence, node_id: str,
              config: dict[str, Any] | None, recipient_email: str, sending_domain: str
              ) -> Message:
    """Queue a ``[Test]`` copy to ``recipient_email`` through the outbox."""
    email = check_email("recipient_email", recipient_email)
    chosen = email_config(sequence, node_id, config)
    template_id, _ = _content(session, project, chosen)
    return queue_message(
        session, project, _recipient(session, project, email), kind="test",
        subject=TEST_PREFIX + (chosen.get("subject") or ""), preview=chosen.get("preview"),
        body_doc=chosen["bodyDoc"], template_id=template_id, to_email=email,
        data={"event": {}, "sequence_node_id": node_id}, sending_domain=sending_domain,
        sequence_id=sequence.id)
