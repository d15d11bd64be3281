"""``/v1/projects/{slug}/segments`` and ``/v1/projects/{slug}/contacts/search``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from letter.api.deps import ProjectDep, SessionDep
from letter.api.pagination import PageDep
from letter.contacts.schemas import ContactOut
from letter.db.pagination import PageParams
from letter.schemas import Page, page_of
from letter.segments import service
from letter.segments.schemas import (
    ContactSearch,
    PreviewIn,
    PreviewOut,
    SegmentCreate,
    SegmentOut,
    SegmentUpdate,
)

router = APIRouter(prefix="/v1/projects/{slug}", tags=["segments"])


@router.get("/segments", response_model=Page[SegmentOut])
def list_segments(project: ProjectDep, session: SessionDep, page: PageDep) -> Page[SegmentOut]:
    return page_of(service.list_segments(session, project.id, page), SegmentOut.model_validate)


@router.post("/segments", status_code=201, response_model=SegmentOut)
def create_segment(body: SegmentCreate, project: ProjectDep, session: SessionDep) -> SegmentOut:
    segment = service.create_segment(session, project.id, body.name, body.filter)
    return SegmentOut.model_validate(segment)


@router.post("/segments/preview", response_model=PreviewOut)
def preview(body: PreviewIn, project: ProjectDep, session: SessionDep) -> PreviewOut:
    matches, total = service.preview(session, project.id, body.filter)
    return PreviewOut(matches=matches, total=total)


@router.get("/segments/{segment_id}", response_model=SegmentOut)
def get_segment(segment_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> SegmentOut:
    return SegmentOut.model_validate(service.get_segment(session, project.id, segment_id))


@router.patch("/segments/{segment_id}", response_model=SegmentOut)
def update_segment(
    segment_id: uuid.UUID, body: SegmentUpdate, project: ProjectDep, session: SessionDep
) -> SegmentOut:
    segment = service.update_segment(session, project.id, segment_id, body.name, body.filter)
    return SegmentOut.model_validate(segment)


@router.delete("/segments/{segment_id}", status_code=204)
def delete_segment(segment_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> Response:
    service.delete_segment(session, project.id, segment_id)
    return Response(status_code=204)


@router.post("/contacts/search", response_model=Page[ContactOut])
def search_contacts(
    body: ContactSearch, project: ProjectDep, session: SessionDep
) -> Page[ContactOut]:
    result = service.search_contacts(
        session,
        project.id,
        body.filter,
        body.segment_id,
        PageParams(limit=body.limit, cursor=body.cursor),
    )
    return page_of(result, ContactOut.model_validate)
