"""Custom sending domains: registration (DKIM keys), DNS verification,
sender identity and sending mode.

>>> domain = register_domain(session, project.id, "mail.acme.com")   # doctest: +SKIP
>>> verify_domain(session, domain, resolver="127.0.0.1:5353")       # doctest: +SKIP
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

import dns.exception
import dns.resolver
from sqlalchemy import select
from sqlalchemy.orm import Session

from letter.clock import utcnow
from letter.db.pagination import PageParams, PageResult, paginate
from letter.delivery.dkim import generate_key, public_record
from letter.domains.models import Domain, DomainStatus
from letter.emails import InvalidEmail, normalize_email
from letter.errors import Conflict, Invalid, NotFound
from letter.projects.models import Project

__all__ = [
    "MAX_DAILY_SEND_CAP",
    "DnsRecord",
    "check_email",
    "delete_domain",
    "dns_records",
    "domain_of",
    "get_domain",
    "list_domains",
    "register_domain",
    "set_daily_send_cap",
    "set_sender_identity",
    "set_sending_mode",
    "verified_domain_for",
    "verify_domain",
]

HOSTNAME = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class DnsRecord:
    type: str
    name: str
    value: str


def domain_of(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def check_email(field: str, value: str) -> str:
    """One address by Letter's email rule (no display name, no line breaks),
    normalised; ``Invalid`` naming ``field`` otherwise."""
    try:
        return normalize_email(value.strip())
    except InvalidEmail as exc:
        raise Invalid(f"{field}: {exc}") from exc


def list_domains(session: Session, project_id: uuid.UUID, page: PageParams) -> PageResult[Domain]:
    return paginate(session, select(Domain).where(Domain.project_id == project_id), Domain, page)


def get_domain(session: Session, project_id: uuid.UUID, domain_id: uuid.UUID) -> Domain:
    domain = session.scalars(
        select(Domain).where(Domain.project_id == project_id, Domain.id == domain_id)
    ).one_or_none()
    if domain is None:
        raise NotFound(f"No domain {domain_id} in this project.")
    return domain


def register_domain(
    session: Session, project_id: uuid.UUID, name: str, sending_domain: str
) -> Domain:
    """Register ``name`` with three DKIM selectors, each with an RSA-2048 key."""
    name = name.strip().lower().rstrip(".")
    if not HOSTNAME.match(name):
        raise Invalid(f'domain: "{name}" is not a domain name')
    if name == sending_domain or name.endswith("." + sending_domain):
        raise Invalid("domain: Letter's own sending domain cannot be registered")
    taken = session.scalars(
        select(Domain.id).where(Domain.project_id == project_id, Domain.domain == name)
    ).first()
    if taken is not None:
        raise Conflict(f'domain: "{name}" is already registered in this project')
    tokens = [f"lt{secrets.token_hex(8)}" for _ in range(3)]
    domain = Domain(
        project_id=project_id, domain=name, kind="custom", status=DomainStatus.PENDING,
        dkim_tokens={"tokens": tokens}, dkim_keys={t: generate_key() for t in tokens},
    )
    session.add(domain)
    session.flush()
    return domain


def dns_records(domain: Domain) -> list[DnsRecord]:
    """The exact TXT records to publish: one DKIM public key per selector."""
    return [
        DnsRecord("TXT", f"{token}._domainkey.{domain.domain}", public_record(pem))
        for token, pem in domain.dkim_keys.items()
    ]


def _resolver(address: str | None) -> dns.resolver.Resolver:
    if not address:
        return dns.resolver.Resolver()
    resolver = dns.resolver.Resolver(configure=False)
    host, _, port = address.rpartition(":") if ":" in address else (address, "", "53")
    resolver.nameservers = [host.strip("[]")]
    resolver.port = int(port or 53)
    resolver.lifetime = 5.0
    return resolver


def _txt(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    return [b"".join(r.strings).decode(errors="replace") for r in answer]


def _normal(record: str) -> str:
    return "".join(record.split()).rstrip(";")


def verify_domain(session: Session, domain: Domain, resolver: str | None) -> Domain:
    """Look up each selector's TXT record; all three must carry our public key."""
    problems: list[str] = []
    try:
        res = _resolver(resolver)
        for record in dns_records(domain):
            found = [_normal(v) for v in _txt(res, record.name)]
            if _normal(record.value) not in found:
                problems.append(f"{record.name}: " + ("wrong value" if found else "not found"))
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        problems.append(f"DNS lookup failed: {exc}")
    now = utcnow()
    domain.last_checked_at = now
    domain.updated_at = now
    if problems:
        domain.status = DomainStatus.FAILED
        domain.failure_reason = "; ".join(problems)
    else:
        domain.status = DomainStatus.VERIFIED
        domain.failure_reason = None
        domain.verified_at = domain.verified_at or now
    session.flush()
    return domain


def delete_domain(session: Session, project: Project, domain: Domain) -> None:
    if project.sending_mode == "byo_domain" and project.from_email and (
        domain_of(project.from_email) == domain.domain
    ):
        raise Conflict("This domain sends the project's email; switch the sending mode "
                       "to letter_subdomain first.")
    session.delete(domain)
    session.flush()


def verified_domain_for(session: Session, project_id: uuid.UUID, email: str) -> Domain | None:
    return session.scalars(
        select(Domain).where(Domain.project_id == project_id, Domain.domain == domain_of(email),
                             Domain.status == DomainStatus.VERIFIED)
    ).one_or_none()


def _require_verified(session: Session, project: Project, email: str) -> None:
    if verified_domain_for(session, project.id, email) is None:
        raise Invalid(f'from_email: the domain "{domain_of(email)}" is not a verified sending '
                      "domain of this project; register and verify it first")


def set_sender_identity(
    session: Session, project: Project, *, from_email: str, from_name: str | None,
    reply_to_email: str | None,
) -> Project:
    from_email = check_email("from_email", from_email)
    if reply_to_email:
        reply_to_email = check_email("reply_to_email", reply_to_email)
    if project.sending_mode == "byo_domain":
        _require_verified(session, project, from_email)
    project.from_email = from_email
    if from_name is not None:
        project.from_name = from_name.strip() or None
    project.reply_to_email = reply_to_email or None
    project.updated_at = utcnow()
    session.flush()
    return project


def set_sending_mode(session: Session, project: Project, mode: str) -> Project:
    if mode == "byo_domain":
        if not project.from_email:
            raise Invalid("sending_mode: set a from_email on your domain (sender identity) first")
        _require_verified(session, project, project.from_email)
    elif mode != "letter_subdomain":
        raise Invalid('sending_mode: must be "letter_subdomain" or "byo_domain"')
    project.sending_mode = mode
    project.updated_at = utcnow()
    session.flush()
    return project


MAX_DAILY_SEND_CAP = 10_000_000


def set_daily_send_cap(session: Session, project: Project, cap: int) -> Project:
    """Messages the project may send per day (midnight to midnight in its time zone)."""
    if isinstance(cap, bool) or not 1 <= cap <= MAX_DAILY_SEND_CAP:
        raise Invalid(f"daily_send_cap: must be between 1 and {MAX_DAILY_SEND_CAP:,}")
    project.daily_send_cap = cap
    project.updated_at = utcnow()
    session.flush()
    return project
