"""Transactional send and the message log: ``/v1/projects/{slug}/messages``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from letter.api.deps import ProjectDep, RuntimeDep, SessionDep
from letter.api.pagination import PageDep
from letter.delivery import service
from letter.delivery.schemas import (
    HistoryOut,
    MessageCreate,
    MessageDetail,
    MessageOut,
    MessageQueued,
)
from letter.schemas import Page, page_of

router = APIRouter(prefix="/v1/projects/{slug}/messages", tags=["messages"])


@router.post("", status_code=202, response_model=MessageQueued)
def send_message(
    body: MessageCreate, project: ProjectDep, session: SessionDep, runtime: RuntimeDep
) -> MessageQueued:
    contact = service.resolve_recipient(
        session, project, external_id=body.to.external_id, email=body.to.email
    )
    message = service.queue_message(
        session, project, contact, kind="transactional" if body.transactional else "bulk",
        subject=body.subject, preview=body.preview, body_doc=body.body_doc,
        template_id=body.template_id, data=body.data,
        sending_domain=runtime.settings.sending_domain,
    )
    return MessageQueued(id=message.id, status="queued")


@router.get("", response_model=Page[MessageOut])
def list_messages(
    project: ProjectDep,
    session: SessionDep,
    page: PageDep,
    contact: Annotated[uuid.UUID | None, Query(description="A contact id.")] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    broadcast_id: uuid.UUID | None = None,
    sequence_id: uuid.UUID | None = None,
) -> Page[MessageOut]:
    result = service.list_messages(
        session, project.id, page, contact_id=contact, state=state,
        broadcast_id=broadcast_id, sequence_id=sequence_id,
    )
    return page_of(result, MessageOut.model_validate)


@router.get("/{message_id}", response_model=MessageDetail)
def get_message(message_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> MessageDetail:
    message = service.get_message(session, project.id, message_id)
    history = [HistoryOut(state=e.state, detail=e.detail, at=e.created_at)
               for e in service.message_history(session, message)]
    base = MessageOut.model_validate(message).model_dump()
    return MessageDetail(**base, preview=message.preview,
                         body_doc=service.message_body(session, message), data=message.data,
                         history=history)
