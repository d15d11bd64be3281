"""Emails Letter itself sends to its users (invitations; import and export
notices): queued into the outbox like every other email, never sent inside a
request, and rendered by the drain from Jinja2 templates in ``emails/``.

A secret an email must carry (an invitation's accept token) is stored sealed
with a key derived from the instance's secret key, never in the clear.

>>> mailer = OutboxMailer(session, settings)                  # doctest: +SKIP
>>> mailer.send_invitation(to="ada@example.com", workspace_name="Acme",
...                        inviter="Grace", role="admin", raw_token=raw)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import hashlib
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography.fernet import Fernet
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from letter.clock import utcnow
from letter.delivery.mime import OutgoingEmail, SenderHeaders, build_message
from letter.delivery.models import PRIORITY, Message, MessageEvent, MessageKind, MessageState
from letter.delivery.store import MessageRow
from letter.ids import uuid7
from letter.settings import Settings

__all__ = ["OutboxMailer", "queue_system_email", "render_system", "seal", "unseal"]

_emails = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "emails"),
    autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"letter.seal:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret_key: str, value: str) -> str:
    return _fernet(secret_key).encrypt(value.encode()).decode()


def unseal(secret_key: str, token: str) -> str:
    return _fernet(secret_key).decrypt(token.encode()).decode()


def queue_system_email(
    session: Session, *, template: str, to: str, subject: str, values: dict[str, Any],
    sending_domain: str,
) -> Message:
    """Queue one of Letter's own emails (``template`` names the pair of files
    ``emails/<template>.txt`` and ``.html``)."""
    now = utcnow()
    message_id = uuid7()
    message = Message(
        id=message_id, project_id=None, contact_id=None, to_email=to,
        kind=MessageKind.SYSTEM, priority=PRIORITY[MessageKind.SYSTEM], subject=subject,
        body_doc={}, data={"template": template, "values": values},
        state=MessageState.QUEUED, next_attempt_at=now, created_at=now,
        message_id_header=f"<{message_id}@{sending_domain}>",
    )
    session.add(message)
    session.add(MessageEvent(project_id=None, message_id=message_id,
                             state=MessageState.QUEUED, created_at=now))
    session.flush()
    return message


def render_system(message: MessageRow, secret_key: str, public_url: str,
                  sending_domain: str) -> OutgoingEmail:
    data = message.data or {}
    template = str(data["template"])
    values = dict(data.get("values") or {})
    if "sealed_token" in values:
        token = unseal(secret_key, values.pop("sealed_token"))
        values["link"] = f"{public_url}{values.pop('path')}?token={quote(token)}"
    values["subject"] = message.subject
    text = _emails.get_template(f"{template}.txt").render(values)
    html = _emails.get_template(f"{template}.html").render(values)
    sender = SenderHeaders.build(from_name="Letter", from_email=f"no-reply@{sending_domain}",
                                 reply_to=None, list_id=f"system.{sending_domain}")
    raw = build_message(sender, to=message.to_email, subject=message.subject,
                        message_id=message.message_id_header, unsubscribe_https=None,
                        unsubscribe_mailto=None, text=text, html=html)
    return OutgoingEmail(sender.envelope_from, message.to_email, raw, str(message.id))


def _who(inviter: str) -> str:
    """``Ada Lovelace (ada@x.test)``, or just the email when the name is its
    local part (the default name), so no sentence reads "you invited you".

    >>> _who("you <you@x.test>"), _who("Ada <ada@x.test>")
    ('you@x.test', 'Ada (ada@x.test)')
    """
    name, address = parseaddr(inviter)
    if not address or "@" not in address:
        return inviter
    if not name or name.casefold() == address.partition("@")[0].casefold():
        return address
    return f"{name} ({address})"


class OutboxMailer:
    """The invitation mailer the auth service calls: queues into the outbox in
    the caller's transaction, so the invitation and its email commit together."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    def send_invitation(
        self, *, to: str, workspace_name: str, inviter: str, role: str, raw_token: str
    ) -> None:
        """``inviter`` is a name, an email, or both as ``"Name <email>"``."""
        inviter = _who(inviter)
        queue_system_email(
            self.session, template="invitation", to=to,
            subject=f"{inviter} invited you to {workspace_name} on Letter",
            values={"workspace": workspace_name, "inviter": inviter, "role": role,
                    "path": "/invitations/accept",
                    "sealed_token": seal(self.settings.secret_key or "", raw_token)},
            sending_domain=self.settings.sending_domain,
        )
