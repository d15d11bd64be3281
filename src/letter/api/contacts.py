"""Contacts and suppressions of a project (Management API, PAT auth)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from letter.api.deps import ProjectDep, SessionDep
from letter.api.pagination import PageDep
from letter.audience import service as lists
from letter.audience import topics
from letter.audience.schemas import ContactListRef, ContactTopicOut
from letter.contacts import service
from letter.contacts.schemas import (
    ContactAccountOut,
    ContactDetailOut,
    ContactOut,
    EventOut,
    SuppressionCreate,
    SuppressionOut,
)
from letter.schemas import Page, page_of

router = APIRouter(prefix="/v1/projects/{slug}", tags=["contacts"])

# ``:path`` routes: an external id or email may contain "/" (sent as %2F).
ExternalId = Annotated[str, Path(min_length=1, max_length=255)]
EmailPath = Annotated[str, Path(min_length=1, max_length=320)]


@router.get("/contacts", response_model=Page[ContactOut])
def list_contacts(project: ProjectDep, session: SessionDep, page: PageDep) -> Page[ContactOut]:
    result = service.list_contacts(session, project.id, page)
    return page_of(result, ContactOut.model_validate)


@router.get("/contacts/{external_id:path}", response_model=ContactDetailOut)
def get_contact(external_id: ExternalId, project: ProjectDep, session: SessionDep
                ) -> ContactDetailOut:
    detail = service.contact_detail(session, project.id, external_id)
    c = detail.contact
    return ContactDetailOut(
        id=c.id, external_id=c.external_id, email=c.email, traits=c.traits,
        timezone=c.timezone, unsubscribed_at=c.unsubscribed_at,
        unsubscribe_reason=c.unsubscribe_reason, created_at=c.created_at,
        updated_at=c.updated_at,
        account=ContactAccountOut.model_validate(detail.account) if detail.account else None,
        recent_events=[EventOut.model_validate(e) for e in detail.recent_events],
        lists=[ContactListRef.model_validate(x)
               for x in lists.contact_lists(session, project.id, c.id)],
        topics=[ContactTopicOut.model_validate(t)
                for t in topics.contact_topics(session, project.id, c.id)],
    )


@router.post("/contacts/{external_id:path}/suppress", status_code=204)
def suppress_contact(external_id: ExternalId, project: ProjectDep, session: SessionDep
                     ) -> Response:
    service.suppress_contact(session, project.id, external_id)
    return Response(status_code=204)


@router.post("/contacts/{external_id:path}/resubscribe", status_code=204)
def resubscribe_contact(external_id: ExternalId, project: ProjectDep, session: SessionDep
                        ) -> Response:
    service.resubscribe_contact(session, project.id, external_id)
    return Response(status_code=204)


@router.get("/suppressions", response_model=Page[SuppressionOut])
def list_suppressions(project: ProjectDep, session: SessionDep, page: PageDep
                      ) -> Page[SuppressionOut]:
    result = service.list_suppressions(session, project.id, page)
    return page_of(result, SuppressionOut.model_validate)


@router.post("/suppressions", status_code=201, response_model=SuppressionOut)
def create_suppression(body: SuppressionCreate, project: ProjectDep, session: SessionDep
                       ) -> SuppressionOut:
    return SuppressionOut.model_validate(service.suppress_email(session, project.id, body.email))


@router.delete("/suppressions/{email:path}", status_code=204)
def delete_suppression(email: EmailPath, project: ProjectDep, session: SessionDep) -> Response:
    service.resubscribe_email(session, project.id, email)
    return Response(status_code=204)
