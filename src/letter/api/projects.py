"""``/v1/projects`` and their ingestion keys."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from letter.api.deps import PrincipalDep, ProjectDep, SessionDep, may, project_for
from letter.api.pagination import PageDep
from letter.auth.access import Action
from letter.auth.service import Principal
from letter.projects import service
from letter.projects.models import Project
from letter.projects.schemas import (
    KeyCreate,
    KeyCreated,
    KeyOut,
    ProjectCreate,
    ProjectOut,
    ProjectUpdate,
)
from letter.schemas import Page, page_of

router = APIRouter(prefix="/v1/projects", tags=["projects"])

CreatorDep = Annotated[Principal, Depends(may(Action.CREATE_PROJECT))]
DeletableDep = Annotated[Project, Depends(project_for(Action.DELETE_PROJECT))]
RenamableDep = Annotated[Project, Depends(project_for(Action.RENAME_PROJECT))]
TokensDep = Annotated[Project, Depends(project_for(Action.MANAGE_PROJECT_TOKENS))]


@router.get("", response_model=Page[ProjectOut])
def list_projects(session: SessionDep, principal: PrincipalDep, page: PageDep) -> Page[ProjectOut]:
    result = service.list_projects(session, principal.workspace_id, page)
    return page_of(result, ProjectOut.model_validate)


@router.post("", status_code=201, response_model=ProjectOut)
def create_project(body: ProjectCreate, session: SessionDep, principal: CreatorDep) -> ProjectOut:
    project = service.create_project(session, principal.workspace_id, body.name, body.timezone)
    return ProjectOut.model_validate(project)


@router.get("/{slug}", response_model=ProjectOut)
def get_project(project: ProjectDep) -> ProjectOut:
    return ProjectOut.model_validate(project)


@router.patch("/{slug}", response_model=ProjectOut)
def update_project(body: ProjectUpdate, project: RenamableDep, session: SessionDep) -> ProjectOut:
    updated = service.update_project(session, project, body.name, body.timezone)
    return ProjectOut.model_validate(updated)


@router.delete("/{slug}", status_code=204)
def delete_project(project: DeletableDep, session: SessionDep) -> Response:
    service.delete_project(session, project)
    return Response(status_code=204)


@router.get("/{slug}/keys", response_model=Page[KeyOut])
def list_keys(project: ProjectDep, session: SessionDep, page: PageDep) -> Page[KeyOut]:
    result = service.list_keys(session, project.id, page)
    return page_of(result, KeyOut.model_validate)


@router.post("/{slug}/keys", status_code=201, response_model=KeyCreated)
def create_key(
    project: TokensDep, session: SessionDep, body: KeyCreate | None = None
) -> KeyCreated:
    minted = service.create_key(session, project.id, body.name if body else None)
    k = minted.key
    return KeyCreated(id=k.id, name=k.name, prefix=k.prefix, key=minted.raw)


@router.delete("/{slug}/keys/{key_id}", status_code=204)
def revoke_key(key_id: uuid.UUID, project: TokensDep, session: SessionDep) -> Response:
    service.revoke_key(session, project.id, key_id)
    return Response(status_code=204)
