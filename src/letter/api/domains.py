"""Sending domains, sender identity and sending mode (admin+)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from letter.api.deps import RuntimeDep, SessionDep, project_for
from letter.api.pagination import PageDep
from letter.auth.access import Action
from letter.domains import service
from letter.domains.models import Domain
from letter.domains.schemas import (
    DailySendCap,
    DnsRecordOut,
    DomainCreate,
    DomainOut,
    SenderIdentity,
    SendingMode,
)
from letter.projects.models import Project
from letter.projects.schemas import ProjectOut
from letter.schemas import Page, page_of

router = APIRouter(prefix="/v1/projects/{slug}", tags=["sending"])

SendingDep = Annotated[Project, Depends(project_for(Action.MANAGE_SENDING))]


def _out(domain: Domain) -> DomainOut:
    return DomainOut(
        id=domain.id, domain=domain.domain, kind=domain.kind, status=domain.status,
        dkim_tokens=list(domain.dkim_tokens["tokens"]),
        dns_records=[DnsRecordOut(type=r.type, name=r.name, value=r.value)
                     for r in service.dns_records(domain)],
        failure_reason=domain.failure_reason, verified_at=domain.verified_at,
        last_checked_at=domain.last_checked_at, created_at=domain.created_at,
        updated_at=domain.updated_at,
    )


@router.get("/domains", response_model=Page[DomainOut])
def list_domains(project: SendingDep, session: SessionDep, page: PageDep) -> Page[DomainOut]:
    return page_of(service.list_domains(session, project.id, page), _out)


@router.post("/domains", status_code=201, response_model=DomainOut)
def register_domain(
    body: DomainCreate, project: SendingDep, session: SessionDep, runtime: RuntimeDep
) -> DomainOut:
    domain = service.register_domain(
        session, project.id, body.domain, runtime.settings.sending_domain
    )
    return _out(domain)


@router.post("/domains/{domain_id}/verify", response_model=DomainOut)
def verify_domain(
    domain_id: uuid.UUID, project: SendingDep, session: SessionDep, runtime: RuntimeDep
) -> DomainOut:
    domain = service.get_domain(session, project.id, domain_id)
    return _out(service.verify_domain(session, domain, runtime.settings.dns_resolver))


@router.delete("/domains/{domain_id}", status_code=204)
def delete_domain(domain_id: uuid.UUID, project: SendingDep, session: SessionDep) -> Response:
    service.delete_domain(session, project, service.get_domain(session, project.id, domain_id))
    return Response(status_code=204)


@router.put("/sender-identity", response_model=ProjectOut)
def put_sender_identity(
    body: SenderIdentity, project: SendingDep, session: SessionDep
) -> ProjectOut:
    updated = service.set_sender_identity(
        session, project, from_email=body.from_email, from_name=body.from_name,
        reply_to_email=body.reply_to_email,
    )
    return ProjectOut.model_validate(updated)


@router.put("/sending-mode", response_model=ProjectOut)
def put_sending_mode(
    body: SendingMode, project: SendingDep, session: SessionDep
) -> ProjectOut:
    return ProjectOut.model_validate(service.set_sending_mode(session, project, body.sending_mode))


@router.put("/daily-send-cap", response_model=ProjectOut)
def put_daily_send_cap(
    body: DailySendCap, project: SendingDep, session: SessionDep
) -> ProjectOut:
    return ProjectOut.model_validate(
        service.set_daily_send_cap(session, project, body.daily_send_cap))
