"""Members and invitations of a workspace.

An invitation is a single-use secret emailed to the invitee; accepting it
creates the user if needed, the membership with the invited role, and a token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formataddr
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from letter.auth.models import Invitation, InvitationStatus, Membership, User, Workspace
from letter.auth.roles import Role
from letter.auth.security import hash_secret, mint_secret, normalize_user_email
from letter.auth.service import MintedToken, Principal, get_or_create_user, mint_token
from letter.clock import utcnow
from letter.db.pagination import PageParams, PageResult, paginate
from letter.errors import Conflict, Forbidden, Invalid, NotFound

__all__ = [
    "AcceptedInvitation",
    "CreatedInvitation",
    "accept_invitation",
    "create_invitation",
    "list_invitations",
    "list_members",
    "remove_member",
    "revoke_invitation",
]

INVITATION_TTL = timedelta(days=7)
INVITE_SECRET_KIND = "lt_inv_"
INVITABLE_ROLES = (Role.MEMBER, Role.ADMIN)


@dataclass(frozen=True)
class CreatedInvitation:
    invitation: Invitation
    raw_token: str
    workspace: Workspace


@dataclass(frozen=True)
class AcceptedInvitation:
    user: User
    workspace: Workspace
    role: str
    token: MintedToken


def list_members(
    session: Session, workspace_id: uuid.UUID, page: PageParams
) -> PageResult[tuple[Membership, User]]:
    stmt = (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == workspace_id)
    )
    return paginate(session, stmt, Membership, page)


def remove_member(session: Session, principal: Principal, user_id: uuid.UUID) -> None:
    membership = session.scalars(
        select(Membership).where(
            Membership.workspace_id == principal.workspace_id, Membership.user_id == user_id
        )
    ).one_or_none()
    if membership is None:
        raise NotFound(f"No member {user_id} in this workspace.")
    if not Role(principal.role).at_least(Role(membership.role)):
        raise Forbidden(f"Removing an {membership.role} needs the {membership.role} role.")
    if membership.role == Role.OWNER.value:
        owners = session.scalar(
            select(func.count()).where(
                Membership.workspace_id == principal.workspace_id,
                Membership.role == Role.OWNER.value,
            )
        )
        if owners == 1:
            raise Conflict("A workspace keeps at least one owner.")
    session.delete(membership)


def _pending(session: Session, workspace_id: uuid.UUID, email: str) -> Invitation | None:
    return session.scalars(
        select(Invitation).where(
            Invitation.workspace_id == workspace_id,
            Invitation.email == email,
            Invitation.status == InvitationStatus.PENDING,
            Invitation.expires_at > utcnow(),
        )
    ).first()


class InvitationMailer(Protocol):
    def send_invitation(
        self, *, to: str, workspace_name: str, inviter: str, role: str, raw_token: str
    ) -> None: ...


def create_invitation(
    session: Session, principal: Principal, email: str, role: str, mailer: InvitationMailer
) -> CreatedInvitation:
    """Record a pending invitation and email its single-use accept link."""
    try:
        email = normalize_user_email(email.strip())
    except ValueError as exc:
        raise Invalid(f"email: {exc}") from exc
    if role not in INVITABLE_ROLES:
        raise Invalid('role: must be "member" or "admin"')
    is_member = session.scalar(
        select(func.count())
        .select_from(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == principal.workspace_id, User.email == email)
    )
    if is_member:
        raise Conflict(f"{email} is already a member of this workspace.")
    if _pending(session, principal.workspace_id, email) is not None:
        raise Conflict(f"{email} has already been invited.")
    raw, _prefix, digest = mint_secret(INVITE_SECRET_KIND)
    invitation = Invitation(
        workspace_id=principal.workspace_id,
        email=email,
        role=role,
        status=InvitationStatus.PENDING,
        token_hash=digest,
        invited_by=principal.user.id,
        expires_at=utcnow() + INVITATION_TTL,
    )
    session.add(invitation)
    session.flush()
    mailer.send_invitation(
        to=email,
        workspace_name=principal.workspace.name,
        inviter=formataddr((principal.user.name or "", principal.user.email)),
        role=role,
        raw_token=raw,
    )
    return CreatedInvitation(invitation=invitation, raw_token=raw, workspace=principal.workspace)


def list_invitations(
    session: Session, workspace_id: uuid.UUID, page: PageParams
) -> PageResult[Invitation]:
    stmt = select(Invitation).where(
        Invitation.workspace_id == workspace_id,
        Invitation.status == InvitationStatus.PENDING,
        Invitation.expires_at > utcnow(),
    )
    return paginate(session, stmt, Invitation, page)


def revoke_invitation(session: Session, workspace_id: uuid.UUID, invitation_id: uuid.UUID) -> None:
    invitation = session.scalars(
        select(Invitation).where(
            Invitation.id == invitation_id,
            Invitation.workspace_id == workspace_id,
            Invitation.status == InvitationStatus.PENDING,
        )
    ).one_or_none()
    if invitation is None:
        raise NotFound(f"No pending invitation {invitation_id}.")
    invitation.status = InvitationStatus.REVOKED


def accept_invitation(
    session: Session, raw_token: str, name: str | None, password: str | None
) -> AcceptedInvitation:
    invitation = session.scalars(
        select(Invitation).where(Invitation.token_hash == hash_secret(raw_token)).with_for_update()
    ).one_or_none()
    if invitation is None or invitation.status != InvitationStatus.PENDING:
        raise NotFound("This invitation does not exist or has already been used.")
    if invitation.expires_at <= utcnow():
        raise NotFound("This invitation has expired.")
    user = get_or_create_user(session, invitation.email, name, password)
    already = session.scalars(
        select(Membership).where(
            Membership.workspace_id == invitation.workspace_id, Membership.user_id == user.id
        )
    ).one_or_none()
    if already is not None:
        raise Conflict(f"{user.email} is already a member of this workspace.")
    session.add(
        Membership(workspace_id=invitation.workspace_id, user_id=user.id, role=invitation.role)
    )
    invitation.status = InvitationStatus.ACCEPTED
    invitation.accepted_at = utcnow()
    workspace = session.get_one(Workspace, invitation.workspace_id)
    minted = mint_token(session, user_id=user.id, workspace_id=workspace.id, name="invitation")
    return AcceptedInvitation(user=user, workspace=workspace, role=invitation.role, token=minted)
