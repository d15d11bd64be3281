"""``/v1/members`` and ``/v1/invitations`` (admin+), and accepting an invitation."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from letter.api.deps import RuntimeDep, SessionDep, may
from letter.api.pagination import PageDep
from letter.auth import invitations as service
from letter.auth.access import Action
from letter.auth.schemas import (
    AcceptedOut,
    AcceptInvitation,
    InvitationBrief,
    InvitationOut,
    InviteIn,
    MemberInvitationOut,
    MemberOut,
    UserOut,
    WorkspaceOut,
)
from letter.auth.service import Principal
from letter.delivery.system import OutboxMailer
from letter.schemas import Page, page_of

router = APIRouter(prefix="/v1", tags=["members"])

TeamDep = Annotated[Principal, Depends(may(Action.MANAGE_TEAM))]


@router.get("/members", response_model=Page[MemberOut])
def list_members(session: SessionDep, principal: TeamDep, page: PageDep) -> Page[MemberOut]:
    result = service.list_members(session, principal.workspace_id, page)
    return page_of(result, _member)


def _member(row: Any) -> MemberOut:
    m, u = row
    return MemberOut(user_id=u.id, email=u.email, name=u.name, role=m.role, joined_at=m.created_at)


@router.post("/members", status_code=201, response_model=MemberInvitationOut)
def invite_member(
    body: InviteIn, session: SessionDep, principal: TeamDep, runtime: RuntimeDep
) -> MemberInvitationOut:
    mailer = OutboxMailer(session, runtime.settings)
    created = service.create_invitation(session, principal, body.email, body.role, mailer)
    inv = created.invitation
    return MemberInvitationOut(
        invitation_id=inv.id, email=inv.email, role=inv.role, status=inv.status
    )


@router.delete("/members/{user_id}", status_code=204)
def remove_member(user_id: uuid.UUID, session: SessionDep, principal: TeamDep) -> Response:
    service.remove_member(session, principal, user_id)
    return Response(status_code=204)


@router.get("/invitations", response_model=Page[InvitationOut])
def list_invitations(
    session: SessionDep, principal: TeamDep, page: PageDep
) -> Page[InvitationOut]:
    result = service.list_invitations(session, principal.workspace_id, page)
    return page_of(result, InvitationOut.model_validate)


@router.post("/invitations", status_code=201, response_model=InvitationBrief)
def create_invitation(
    body: InviteIn, session: SessionDep, principal: TeamDep, runtime: RuntimeDep
) -> InvitationBrief:
    mailer = OutboxMailer(session, runtime.settings)
    created = service.create_invitation(session, principal, body.email, body.role, mailer)
    return InvitationBrief.model_validate(created.invitation)


@router.delete("/invitations/{invitation_id}", status_code=204)
def revoke_invitation(
    invitation_id: uuid.UUID, session: SessionDep, principal: TeamDep
) -> Response:
    service.revoke_invitation(session, principal.workspace_id, invitation_id)
    return Response(status_code=204)


@router.post("/invitations/accept", status_code=201, response_model=AcceptedOut)
def accept_invitation(body: AcceptInvitation, session: SessionDep) -> AcceptedOut:
    """No authentication: the emailed token is the credential, and works once."""
    accepted = service.accept_invitation(session, body.token, body.name, body.password)
    return AcceptedOut(
        user=UserOut.model_validate(accepted.user),
        workspace=WorkspaceOut.model_validate(accepted.workspace),
        role=accepted.role,
        token=accepted.token.raw,
    )
