"""``/v1/projects/{slug}/contacts/exports``: start a contact export, list
recent ones, read one with its signed download link (DESIGN §6 Exports)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from letter.api.deps import PrincipalDep, ProjectDep, RuntimeDep, SessionDep
from letter.api.imports import links_of
from letter.api.pagination import PageDep
from letter.clock import utcnow
from letter.imports import exports
from letter.imports.models import ExportJob
from letter.imports.schemas import ExportAccepted, ExportCreate, ExportOut
from letter.runtime import Runtime
from letter.schemas import Page, page_of

router = APIRouter(prefix="/v1/projects/{slug}/contacts/exports", tags=["exports"])


def _out(export: ExportJob, runtime: Runtime) -> ExportOut:
    url = exports.download_url(export, links_of(runtime), utcnow())
    return ExportOut(id=export.id, status=export.status, params=export.params,
                     row_count=export.row_count, download_url=url,
                     expires_at=export.expires_at, error=export.error,
                     created_at=export.created_at, finished_at=export.finished_at)


@router.post("", status_code=202, response_model=ExportAccepted)
def create_export(body: ExportCreate, project: ProjectDep, principal: PrincipalDep,
                  session: SessionDep) -> ExportAccepted:
    export = exports.create_export(session, project.id, principal.user.id,
                                   body.model_dump(mode="json"))
    return ExportAccepted(id=export.id, status=export.status)


@router.get("", response_model=Page[ExportOut])
def list_exports(project: ProjectDep, session: SessionDep, runtime: RuntimeDep,
                 page: PageDep) -> Page[ExportOut]:
    return page_of(exports.list_exports(session, project.id, page),
                   lambda e: _out(e, runtime))


@router.get("/{export_id}", response_model=ExportOut)
def get_export(export_id: uuid.UUID, project: ProjectDep, session: SessionDep,
               runtime: RuntimeDep) -> ExportOut:
    return _out(exports.get_export(session, project.id, export_id), runtime)
