"""Who an email is from: the project's sender identity in its sending mode,
the encoded headers for it, and the DKIM signer when the domain is verified.

``letter_subdomain`` mode sends from ``<local>@<assigned_subdomain>.<LETTER_SENDING_DOMAIN>``
(the local part of ``from_email``, else ``hello``) with replies going to
``reply_to_email`` or ``from_email``; ``byo_domain`` sends from ``from_email``
itself, DKIM-signed with the domain's first selector.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy.orm import Session

from letter.delivery.dkim import DkimSigner
from letter.delivery.mime import SenderHeaders
from letter.delivery.store import Sender
from letter.domains.service import domain_of, verified_domain_for
from letter.projects.models import Project

__all__ = ["Sender", "from_address", "sender_for"]


def from_address(project: Project, sending_domain: str) -> str:
    if project.sending_mode == "byo_domain" and project.from_email:
        return project.from_email
    local = (project.from_email or "hello@x").rsplit("@", 1)[0]
    return f"{local}@{project.assigned_subdomain}.{sending_domain}"


_signers: dict[tuple[str, str, datetime], DkimSigner] = {}
_lock = threading.Lock()


def _signer(domain: str, selector: str, pem: str, version: datetime) -> DkimSigner:
    key = (domain, selector, version)
    with _lock:
        signer = _signers.get(key)
    if signer is None:
        signer = DkimSigner(domain, selector, pem)  # loading a PEM costs ~1 ms: cache it
        with _lock:
            _signers[key] = signer
    return signer


def sender_for(session: Session, project: Project, sending_domain: str) -> Sender:
    address = from_address(project, sending_domain)
    reply_to = project.reply_to_email
    if project.sending_mode != "byo_domain" and not reply_to:
        reply_to = project.from_email
    headers = SenderHeaders.build(
        from_name=project.from_name, from_email=address, reply_to=reply_to,
        list_id=f"{project.slug}.{project.assigned_subdomain}.{sending_domain}",
    )
    signer = None
    domain = domain_of(address)
    if project.sending_mode == "byo_domain":
        verified = verified_domain_for(session, project.id, address)
        if verified is not None:
            selector = verified.dkim_tokens["tokens"][0]
            signer = _signer(verified.domain, selector, verified.dkim_keys[selector],
                             verified.verified_at or verified.created_at)
    return Sender(headers=headers, domain=domain, signer=signer)
