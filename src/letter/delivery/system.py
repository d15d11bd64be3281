"""Emails Letter itself sends to people (not to a project's contacts)."""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from urllib.parse import quote

from letter.delivery.transport import Transport
from letter.errors import LetterError

__all__ = ["SystemMailer", "invitation_email"]


def invitation_email(
    *,
    to: str,
    workspace_name: str,
    inviter: str,
    role: str,
    raw_token: str,
    public_url: str,
    sending_domain: str,
) -> EmailMessage:
    """The invitation to ``to``; ``inviter`` is a name, an email, or both as
    ``"Name <email>"``.

    >>> invitation_email(to="b@x.test", workspace_name="Acme", inviter="you <you@x.test>",
    ...     role="admin", raw_token="t", public_url="http://l", sending_domain="l")["Subject"]
    'you@x.test invited you to Acme on Letter'
    """
    inviter = _who(inviter)
    link = f"{public_url}/invitations/accept?token={quote(raw_token)}"
    message = EmailMessage()
    message["From"] = formataddr(("Letter", f"no-reply@{sending_domain}"))
    message["To"] = to
    message["Subject"] = f"{inviter} invited you to {workspace_name} on Letter"
    message["Message-ID"] = make_msgid(domain=sending_domain)
    message.set_content(
        f"{inviter} invited you to join the workspace {workspace_name!s} as {role}.\n\n"
        f"Accept the invitation:\n{link}\n\n"
        "The link works once and expires in 7 days.\n"
    )
    message.add_alternative(
        f"<p>{_escape(inviter)} invited you to join the workspace "
        f"<strong>{_escape(workspace_name)}</strong> as {_escape(role)}.</p>"
        f'<p><a href="{_escape(link)}">Accept the invitation</a></p>'
        "<p>The link works once and expires in 7 days.</p>",
        subtype="html",
    )
    return message


def _who(inviter: str) -> str:
    """``Ada Lovelace (ada@x.test)``, or just the email when the name is its
    local part (the default name), so no sentence reads "you invited you"."""
    name, address = parseaddr(inviter)
    if not address or "@" not in address:
        return inviter
    if not name or name.casefold() == address.partition("@")[0].casefold():
        return address
    return f"{name} ({address})"


def _escape(value: str) -> str:
    return html.escape(value, quote=True)


class SystemMailer:
    """Sends Letter's own emails (invitations) through the configured transport."""

    def __init__(self, transport: Transport, public_url: str, sending_domain: str) -> None:
        self.transport = transport
        self.public_url = public_url
        self.sending_domain = sending_domain

    def send_invitation(
        self, *, to: str, workspace_name: str, inviter: str, role: str, raw_token: str
    ) -> None:
        message = invitation_email(
            to=to,
            workspace_name=workspace_name,
            inviter=inviter,
            role=role,
            raw_token=raw_token,
            public_url=self.public_url,
            sending_domain=self.sending_domain,
        )
        (result,) = self.transport.send([message])
        if not result.ok:
            raise LetterError(f"The invitation email could not be sent: {result.detail}")
