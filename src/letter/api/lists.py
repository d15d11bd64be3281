"""``/v1/projects/{slug}/lists``: static lists of contacts and their members."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response

from letter.api.deps import ProjectDep, SessionDep
from letter.api.pagination import PageDep
from letter.audience import service
from letter.audience.models import ContactList
from letter.audience.schemas import (
    ListCreate,
    ListDetail,
    ListOut,
    ListUpdate,
    MembersAdded,
    MembersIn,
)
from letter.contacts.schemas import ContactOut
from letter.schemas import Page, page_of

router = APIRouter(prefix="/v1/projects/{slug}/lists", tags=["lists"])

# An external id (or, for a contact without one, an email) may contain "/".
ContactKey = Annotated[str, Path(min_length=1, max_length=320,
                                 description="The contact's external id, else its email.")]


@router.get("", response_model=Page[ListOut])
def list_lists(project: ProjectDep, session: SessionDep, page: PageDep) -> Page[ListOut]:
    return page_of(service.list_lists(session, project.id, page), ListOut.model_validate)


@router.post("", status_code=201, response_model=ListOut)
def create_list(body: ListCreate, project: ProjectDep, session: SessionDep) -> ListOut:
    created = service.create_list(session, project.id, body.name, body.description)
    return ListOut.model_validate(created)


def _detail(session: SessionDep, found: ContactList) -> ListDetail:
    out = ListOut.model_validate(found)
    return ListDetail(**out.model_dump(), member_count=service.member_count(session, found))


@router.get("/{list_id}", response_model=ListDetail)
def get_list(list_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> ListDetail:
    return _detail(session, service.get_list(session, project.id, list_id))


@router.patch("/{list_id}", response_model=ListDetail)
def update_list(list_id: uuid.UUID, body: ListUpdate, project: ProjectDep,
                session: SessionDep) -> ListDetail:
    changed = service.update_list(session, project.id, list_id,
                                  body.model_dump(exclude_unset=True))
    return _detail(session, changed)


@router.delete("/{list_id}", status_code=204)
def delete_list(list_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> Response:
    service.delete_list(session, project.id, list_id)
    return Response(status_code=204)


@router.get("/{list_id}/members", response_model=Page[ContactOut])
def list_members(list_id: uuid.UUID, project: ProjectDep, session: SessionDep,
                 page: PageDep) -> Page[ContactOut]:
    result = service.list_members(session, project.id, list_id, page)
    return page_of(result, ContactOut.model_validate)


@router.post("/{list_id}/members", response_model=MembersAdded)
def add_members(list_id: uuid.UUID, body: MembersIn, project: ProjectDep,
                session: SessionDep) -> MembersAdded:
    """Add contacts by ``external_ids`` or by ``emails`` (exactly one); the
    answer says how many joined and which identifiers matched no contact."""
    result = service.add_members(session, project.id, list_id,
                                 external_ids=body.external_ids, emails=body.emails)
    return MembersAdded.model_validate(result)


@router.delete("/{list_id}/members/{contact:path}", status_code=204)
def remove_member(list_id: uuid.UUID, contact: ContactKey, project: ProjectDep,
                  session: SessionDep) -> Response:
    service.remove_member(session, project.id, list_id, contact)
    return Response(status_code=204)
