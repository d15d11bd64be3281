"""Accounts, the event stream and the traits summary of a project
(Management API, PAT auth)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from letter.api.deps import ProjectDep, SessionDep
from letter.api.pagination import PageDep
from letter.contacts import service
from letter.contacts.schemas import (
    AccountContactOut,
    AccountDetailOut,
    AccountOut,
    EventOut,
    TraitOut,
)
from letter.contacts.traits import summarise_traits
from letter.schemas import Page, page_of

router = APIRouter(prefix="/v1/projects/{slug}", tags=["audience"])


@router.get("/accounts", response_model=Page[AccountOut])
def list_accounts(project: ProjectDep, session: SessionDep, page: PageDep) -> Page[AccountOut]:
    result = service.list_accounts(session, project.id, page)
    return page_of(result, AccountOut.model_validate)


@router.get("/accounts/{external_id:path}", response_model=AccountDetailOut)
def get_account(
    external_id: Annotated[str, Path(min_length=1, max_length=255)],
    project: ProjectDep,
    session: SessionDep,
) -> AccountDetailOut:
    detail = service.account_detail(session, project.id, external_id)
    a = detail.account
    return AccountDetailOut(
        id=a.id, external_id=a.external_id, name=a.name, traits=a.traits,
        created_at=a.created_at, updated_at=a.updated_at,
        contacts=[AccountContactOut.model_validate(c) for c in detail.contacts],
    )


@router.get("/events", response_model=Page[EventOut])
def list_events(
    project: ProjectDep,
    session: SessionDep,
    page: PageDep,
    name: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
) -> Page[EventOut]:
    result = service.list_events(session, project.id, page, name)
    return page_of(result, EventOut.model_validate)


@router.get("/traits", response_model=Page[TraitOut])
def list_traits(project: ProjectDep, session: SessionDep, page: PageDep) -> Page[TraitOut]:
    return page_of(summarise_traits(session, project.id, page), TraitOut.model_validate)
