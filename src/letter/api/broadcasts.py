"""``/v1/projects/{slug}/broadcasts``: drafts, preflight, schedule, pause,
resume, cancel, test sends and live status (spec/003 Broadcasts)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from letter.api.deps import ProjectDep, RuntimeDep, SessionDep
from letter.api.pagination import PageDep
from letter.broadcasts import service
from letter.broadcasts.live import live
from letter.broadcasts.preflight import require_sendable
from letter.broadcasts.schemas import (
    ActivityOut,
    BroadcastCreate,
    BroadcastDetail,
    BroadcastOut,
    BroadcastUpdate,
    ExcludedOut,
    LiveOut,
    PreflightOut,
    ScheduleIn,
    TestSendIn,
    TestSendOut,
)
from letter.broadcasts.testsend import send_test
from letter.clock import utcnow
from letter.delivery.sender import from_address
from letter.schemas import Page, page_of

router = APIRouter(prefix="/v1/projects/{slug}/broadcasts", tags=["broadcasts"])


@router.get("", response_model=Page[BroadcastOut])
def list_broadcasts(project: ProjectDep, session: SessionDep, page: PageDep
                    ) -> Page[BroadcastOut]:
    return page_of(service.list_broadcasts(session, project.id, page),
                   BroadcastOut.model_validate)


@router.post("", status_code=201, response_model=BroadcastOut)
def create_broadcast(body: BroadcastCreate, project: ProjectDep, session: SessionDep,
                     runtime: RuntimeDep) -> BroadcastOut:
    broadcast = service.create_broadcast(
        session, project.id, from_email=from_address(project, runtime.settings.sending_domain),
        **body.model_dump(exclude_unset=True))
    return BroadcastOut.model_validate(broadcast)


@router.get("/{broadcast_id}", response_model=BroadcastDetail)
def get_broadcast(broadcast_id: uuid.UUID, project: ProjectDep,
                  session: SessionDep) -> BroadcastDetail:
    return BroadcastDetail.model_validate(service.get_broadcast(session, project.id, broadcast_id))


@router.patch("/{broadcast_id}", response_model=BroadcastOut)
def update_broadcast(broadcast_id: uuid.UUID, body: BroadcastUpdate, project: ProjectDep,
                     session: SessionDep) -> BroadcastOut:
    broadcast = service.update_broadcast(session, project.id, broadcast_id,
                                         body.model_dump(exclude_unset=True))
    return BroadcastOut.model_validate(broadcast)


@router.delete("/{broadcast_id}", status_code=204)
def delete_broadcast(broadcast_id: uuid.UUID, project: ProjectDep,
                     session: SessionDep) -> Response:
    service.delete_broadcast(session, project.id, broadcast_id)
    return Response(status_code=204)


@router.post("/{broadcast_id}/preflight", response_model=PreflightOut)
def preflight(broadcast_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> PreflightOut:
    broadcast = service.get_broadcast(session, project.id, broadcast_id)
    report = require_sendable(session, broadcast, utcnow())
    return PreflightOut(matches=report.matches, total=report.total, subject=report.subject,
                        excluded=report.excluded,
                        excluded_sample=[ExcludedOut.model_validate(e) for e in report.sample])


@router.post("/{broadcast_id}/schedule", response_model=BroadcastOut)
def schedule(broadcast_id: uuid.UUID, body: ScheduleIn, project: ProjectDep,
             session: SessionDep) -> BroadcastOut:
    broadcast = service.schedule(session, project.id, broadcast_id,
                                 scheduled_at=body.scheduled_at, local_time=body.local_time)
    return BroadcastOut.model_validate(broadcast)


@router.post("/{broadcast_id}/pause", response_model=BroadcastOut)
def pause(broadcast_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> BroadcastOut:
    return BroadcastOut.model_validate(service.pause(session, project.id, broadcast_id))


@router.post("/{broadcast_id}/resume", response_model=BroadcastOut)
def resume(broadcast_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> BroadcastOut:
    return BroadcastOut.model_validate(service.resume(session, project.id, broadcast_id))


@router.post("/{broadcast_id}/cancel", response_model=BroadcastOut)
def cancel(broadcast_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> BroadcastOut:
    return BroadcastOut.model_validate(service.cancel(session, project.id, broadcast_id))


@router.post("/{broadcast_id}/test", status_code=202, response_model=TestSendOut)
def test_send(broadcast_id: uuid.UUID, body: TestSendIn, project: ProjectDep,
              session: SessionDep, runtime: RuntimeDep) -> TestSendOut:
    broadcast = service.get_broadcast(session, project.id, broadcast_id)
    message = send_test(session, project, broadcast, to=body.to,
                        as_external_id=body.as_external_id,
                        sending_domain=runtime.settings.sending_domain)
    return TestSendOut(id=message.id, status="queued")


@router.get("/{broadcast_id}/live", response_model=LiveOut)
def live_status(broadcast_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> LiveOut:
    broadcast = service.get_broadcast(session, project.id, broadcast_id)
    stats, activity = live(session, broadcast)
    return LiveOut(status=broadcast.status, scheduled_at=broadcast.scheduled_at,
                   completed_at=broadcast.completed_at, cancelled_at=broadcast.cancelled_at,
                   paused_reason=broadcast.paused_reason, recipients=broadcast.recipients,
                   stats=stats, activity=[ActivityOut.model_validate(a) for a in activity])
