"""Request and response shapes of identity, tokens, members and invitations."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field, field_validator

from letter.auth.security import normalize_user_email
from letter.schemas import SHOWN_ONCE, Instant, RequestModel, ResponseModel

__all__ = [
    "AcceptInvitation",
    "AcceptedOut",
    "DeviceCodeOut",
    "DeviceCodeRequest",
    "DeviceTokenRequest",
    "InvitationBrief",
    "InvitationOut",
    "InviteIn",
    "MeOut",
    "MemberInvitationOut",
    "MemberOut",
    "TokenCreate",
    "TokenCreated",
    "TokenOut",
    "UserOut",
    "WorkspaceOut",
]


class UserOut(ResponseModel):
    id: uuid.UUID
    email: str
    name: str | None


class WorkspaceOut(ResponseModel):
    id: uuid.UUID
    name: str


class MeOut(ResponseModel):
    user: UserOut
    workspace: WorkspaceOut
    role: Literal["member", "admin", "owner"]


class TokenOut(ResponseModel):
    id: uuid.UUID
    name: str
    prefix: str
    last_used_at: Instant | None
    expires_at: Instant | None
    created_at: Instant


class TokenCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    expires_at: Instant | None = None


class TokenCreated(ResponseModel):
    id: uuid.UUID
    name: str
    prefix: str
    token: str | None = Field(description=SHOWN_ONCE)
    expires_at: Instant | None


class MemberOut(ResponseModel):
    user_id: uuid.UUID
    email: str
    name: str | None
    role: str
    joined_at: Instant


class InviteIn(RequestModel):
    email: str = Field(max_length=320)
    role: Literal["member", "admin"] = "member"

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        return normalize_user_email(value)


class MemberInvitationOut(ResponseModel):
    invitation_id: uuid.UUID
    email: str
    role: str
    status: str


class InvitationBrief(ResponseModel):
    id: uuid.UUID
    email: str
    role: str
    status: str


class InvitationOut(InvitationBrief):
    expires_at: Instant
    created_at: Instant


class AcceptInvitation(RequestModel):
    token: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=200)


class AcceptedOut(ResponseModel):
    user: UserOut
    workspace: WorkspaceOut
    role: str
    token: str | None = Field(description=SHOWN_ONCE)


class DeviceCodeRequest(RequestModel):
    client_name: str = Field(default="letter CLI", min_length=1, max_length=200)


class DeviceCodeOut(ResponseModel):
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


class DeviceTokenRequest(RequestModel):
    device_code: str = Field(min_length=1, max_length=200)
