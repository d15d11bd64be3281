"""Rules for users, workspaces and personal access tokens.

Services take a Session and plain values, raise ``letter.errors``, never commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from letter.auth.models import Membership, PersonalAccessToken, User, Workspace
from letter.auth.roles import Role
from letter.auth.security import (
    PAT_PREFIX,
    hash_password,
    hash_secret,
    is_well_formed,
    mint_secret,
    normalize_user_email,
)
from letter.clock import utcnow
from letter.db.pagination import PageParams, PageResult, paginate
from letter.errors import Invalid, NotFound, Unauthorized

__all__ = [
    "MintedToken",
    "Principal",
    "authenticate",
    "bootstrap",
    "get_or_create_user",
    "list_tokens",
    "mint_token",
    "revoke_token",
]

# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token, its user, its workspace and their role there."""

    token_id: uuid.UUID
    user: User
    workspace: Workspace
    role: str

    @property
    def workspace_id(self) -> uuid.UUID:
        return self.workspace.id


@dataclass(frozen=True)
class MintedToken:
    token: PersonalAccessToken
    raw: str


def authenticate(session: Session, raw: str) -> Principal:
    """Resolve a raw ``lt_pat_…`` token, or raise Unauthorized."""
    if not is_well_formed(raw, PAT_PREFIX):
        raise Unauthorized("Missing or malformed token.")
    row = session.execute(
        select(PersonalAccessToken, User, Workspace, Membership.role)
        .join(User, User.id == PersonalAccessToken.user_id)
        .join(Workspace, Workspace.id == PersonalAccessToken.workspace_id)
        .join(
            Membership,
            (Membership.user_id == User.id) & (Membership.workspace_id == Workspace.id),
        )
        .where(PersonalAccessToken.token_hash == hash_secret(raw))
    ).one_or_none()
    if row is None:
        raise Unauthorized("Invalid token.")
    token, user, workspace, role = row
    now = utcnow()
    if token.revoked_at is not None:
        raise Unauthorized("This token has been revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthorized("This token has expired.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return Principal(token_id=token.id, user=user, workspace=workspace, role=role)


def mint_token(
    session: Session,
    *,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    name: str,
    expires_at: datetime | None = None,
) -> MintedToken:
    if expires_at is not None and expires_at <= utcnow():
        raise Invalid("expires_at: must be in the future")
    raw, prefix, digest = mint_secret(PAT_PREFIX)
    token = PersonalAccessToken(
        user_id=user_id,
        workspace_id=workspace_id,
        name=name,
        prefix=prefix,
        token_hash=digest,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return MintedToken(token=token, raw=raw)


def list_tokens(
    session: Session, principal: Principal, page: PageParams
) -> PageResult[PersonalAccessToken]:
    """The caller's own tokens in this workspace that still work."""
    T = PersonalAccessToken
    stmt = select(T).where(
        T.workspace_id == principal.workspace_id,
        T.user_id == principal.user.id,
        T.revoked_at.is_(None),
        or_(T.expires_at.is_(None), T.expires_at > utcnow()),
    )
    return paginate(session, stmt, T, page)


def revoke_token(session: Session, principal: Principal, token_id: uuid.UUID) -> None:
    token = session.scalars(
        select(PersonalAccessToken).where(
            PersonalAccessToken.id == token_id,
            PersonalAccessToken.workspace_id == principal.workspace_id,
            PersonalAccessToken.user_id == principal.user.id,
            PersonalAccessToken.revoked_at.is_(None),
        )
    ).one_or_none()
    if token is None:
        raise NotFound(f"No token {token_id}.")
    token.revoked_at = utcnow()


def get_or_create_user(
    session: Session, email: str, name: str | None = None, password: str | None = None
) -> User:
    email = email.strip().lower()
    user = session.scalars(select(User).where(User.email == email)).one_or_none()
    if user is None:
        user = User(email=email, name=name or email.split("@", 1)[0])
        session.add(user)
    elif name:
        user.name = name
    if password:
        user.password_hash = hash_password(password)
    session.flush()
    return user


def bootstrap(
    session: Session,
    *,
    email: str,
    workspace_name: str,
    name: str | None = None,
    password: str | None = None,
) -> tuple[User, Workspace, MintedToken]:
    """Create (or reuse) the user and their owned workspace, and mint a token.

    Run again for an existing user and workspace name: mints a new token.
    """
    try:
        email = normalize_user_email(email)
    except ValueError as exc:
        raise Invalid(f"email: {exc}") from exc
    if not workspace_name.strip():
        raise Invalid("workspace: must not be empty")
    user = get_or_create_user(session, email, name, password)
    workspace = session.scalars(
        select(Workspace)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(
            Membership.user_id == user.id,
            Membership.role == Role.OWNER.value,
            Workspace.name == workspace_name,
        )
        .order_by(Workspace.created_at)
    ).first()
    if workspace is None:
        workspace = Workspace(name=workspace_name)
        session.add(workspace)
        session.flush()
        session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=Role.OWNER.value))
    minted = mint_token(session, user_id=user.id, workspace_id=workspace.id, name="bootstrap")
    return user, workspace, minted
