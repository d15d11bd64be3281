"""``/v1/projects/{slug}/contacts/imports``: CSV uploads, their progress,
error reports and cancellation, the mapping preview (spec/003 CSV imports),
and ``/v1/downloads/{token}``, the signed links of reports and exports."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from letter.api.deps import PrincipalDep, ProjectDep, RuntimeDep, SessionDep
from letter.api.pagination import PageDep
from letter.clock import utcnow
from letter.imports import service
from letter.imports.links import LINK_LIFETIME, DownloadLinks
from letter.imports.schemas import ImportAccepted, ImportOut, LinkOut, PreviewOut
from letter.runtime import Runtime
from letter.schemas import Page, page_of

router = APIRouter(prefix="/v1/projects/{slug}/contacts/imports", tags=["imports"])

FileField = Annotated[UploadFile | None, File(description="The CSV file.")]


def links_of(runtime: Runtime) -> DownloadLinks:
    return DownloadLinks(runtime.settings.secret_key or "", runtime.settings.public_url)


def error_report_link(runtime: Runtime, import_id: uuid.UUID) -> LinkOut:
    """The signed, short-lived link to an import's error report."""
    expires_at = utcnow() + LINK_LIFETIME
    return LinkOut(url=links_of(runtime).url("import-errors", import_id, expires_at=expires_at),
                   expires_at=expires_at)


def _upload(file: UploadFile | None) -> service.Upload | None:
    return None if file is None else service.Upload(file.file, file.filename or "upload.csv")


@router.post("", status_code=202, response_model=ImportAccepted)
def create_import(
    project: ProjectDep, principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep,
    file: FileField = None,
    mapping: Annotated[str | None, Form(description="JSON: column -> field.")] = None,
    dedupe: Annotated[str | None, Form(description="update (default) or skip")] = None,
    has_header: Annotated[str | None, Form(description="auto (default), true or false")] = None,
    lists: Annotated[list[str] | None, Form(description="List ids to add contacts to.")] = None,
    topics: Annotated[list[str] | None, Form(description="Topic ids to subscribe to.")] = None,
    row_count: Annotated[int | None, Form(alias="rowCount")] = None,
    trigger_sequences: Annotated[bool, Form()] = False,
) -> ImportAccepted:
    job = service.create_import(
        session, project.id, principal.user.id, _upload(file), mapping=mapping,
        uploads_dir=runtime.settings.uploads_dir, dedupe=dedupe, has_header=has_header,
        lists=lists, topics=topics, row_count=row_count, trigger_sequences=trigger_sequences)
    return ImportAccepted(id=job.id, status=job.status)


@router.get("", response_model=Page[ImportOut])
def list_imports(project: ProjectDep, session: SessionDep, page: PageDep) -> Page[ImportOut]:
    return page_of(service.list_imports(session, project.id, page), ImportOut.model_validate)


@router.post("/preview", response_model=PreviewOut)
def preview(
    project: ProjectDep, file: FileField = None,
    has_header: Annotated[str | None, Form(description="auto (default), true or false")] = None,
) -> PreviewOut:
    return PreviewOut.model_validate(service.preview(_upload(file), has_header=has_header))


@router.get("/{import_id}", response_model=ImportOut)
def get_import(import_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> ImportOut:
    return ImportOut.model_validate(service.get_import(session, project.id, import_id))


@router.get("/{import_id}/error-report", response_model=LinkOut)
def error_report(import_id: uuid.UUID, project: ProjectDep, session: SessionDep,
                 runtime: RuntimeDep) -> LinkOut:
    job = service.get_import(session, project.id, import_id)
    return error_report_link(runtime, job.id)


@router.post("/{import_id}/cancel", response_model=ImportOut)
def cancel(import_id: uuid.UUID, project: ProjectDep, session: SessionDep,
           runtime: RuntimeDep) -> ImportOut:
    job = service.cancel_import(session, project.id, import_id, runtime.settings.uploads_dir)
    return ImportOut.model_validate(job)
