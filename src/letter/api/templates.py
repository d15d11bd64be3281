"""``/v1/projects/{slug}/templates``: designs, default, logo, reset."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, UploadFile

from letter.api.deps import ProjectDep, RuntimeDep, SessionDep
from letter.api.pagination import PageDep
from letter.errors import Invalid
from letter.schemas import Page, page_of
from letter.templates import service
from letter.templates.schemas import (
    LogoOut,
    TemplateCreate,
    TemplateOut,
    TemplateReset,
    TemplateUpdate,
)

router = APIRouter(prefix="/v1/projects/{slug}/templates", tags=["templates"])


@router.get("", response_model=Page[TemplateOut])
def list_templates(project: ProjectDep, session: SessionDep, page: PageDep) -> Page[TemplateOut]:
    return page_of(service.list_templates(session, project.id, page), TemplateOut.model_validate)


@router.post("", status_code=201, response_model=TemplateOut)
def create_template(
    project: ProjectDep, session: SessionDep, body: TemplateCreate | None = None
) -> TemplateOut:
    body = body or TemplateCreate()
    template = service.create_template(session, project.id, name=body.name, design=body.design)
    return TemplateOut.model_validate(template)


@router.get("/{template_id}", response_model=TemplateOut)
def get_template(template_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> TemplateOut:
    return TemplateOut.model_validate(service.get_template(session, project.id, template_id))


@router.patch("/{template_id}", response_model=TemplateOut)
def update_template(
    template_id: uuid.UUID, body: TemplateUpdate, project: ProjectDep, session: SessionDep
) -> TemplateOut:
    template = service.get_template(session, project.id, template_id)
    updated = service.update_template(session, template, name=body.name, design=body.design)
    return TemplateOut.model_validate(updated)


@router.delete("/{template_id}", status_code=204)
def delete_template(template_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> Response:
    service.delete_template(session, service.get_template(session, project.id, template_id))
    return Response(status_code=204)


@router.post("/{template_id}/default", status_code=204)
def make_default(template_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> Response:
    service.set_default(session, service.get_template(session, project.id, template_id))
    return Response(status_code=204)


@router.post("/{template_id}/reset", response_model=TemplateOut)
def reset_template(
    template_id: uuid.UUID, body: TemplateReset, project: ProjectDep, session: SessionDep
) -> TemplateOut:
    template = service.get_template(session, project.id, template_id)
    return TemplateOut.model_validate(service.reset_template(session, template, body.preset))


@router.post("/{template_id}/logo", response_model=LogoOut)
async def upload_logo(
    template_id: uuid.UUID,
    project: ProjectDep,
    session: SessionDep,
    runtime: RuntimeDep,
    file: UploadFile | None = None,
) -> LogoOut:
    if file is None:
        raise Invalid("file: send the image as multipart/form-data field 'file'")
    data = await file.read(service.LOGO_MAX_BYTES + 1)
    template = service.get_template(session, project.id, template_id)
    url = service.store_logo(
        session, template, data, runtime.settings.uploads_dir, runtime.settings.public_url
    )
    return LogoOut(url=url)


@router.delete("/{template_id}/logo", status_code=204)
def delete_logo(template_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> Response:
    service.remove_logo(session, service.get_template(session, project.id, template_id))
    return Response(status_code=204)
