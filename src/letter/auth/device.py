"""The CLI's device flow (RFC 8628): the rules of ``device_authorizations``.

The CLI asks for a code pair, shows the user code, and polls with the device
code; a signed-in user approves or denies the user code in the browser; the
next poll after approval mints a personal access token, once.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from letter.auth.models import DeviceAuthorization, Membership, User, Workspace
from letter.auth.security import hash_secret
from letter.auth.service import MintedToken, mint_token
from letter.clock import utcnow
from letter.errors import Forbidden, Invalid, NotFound

__all__ = [
    "EXPIRES_IN",
    "INTERVAL",
    "DeviceFlowError",
    "DeviceStatus",
    "PendingDevice",
    "decide",
    "find_pending",
    "format_user_code",
    "normalize_user_code",
    "poll",
    "start",
]

EXPIRES_IN = timedelta(minutes=15)
INTERVAL = 5  # seconds between polls
# RFC 8628 §6.1: consonants only (no vowels, so no words), no easily confused letters.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8


class DeviceStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    CONSUMED = "consumed"


class DeviceFlowError(Invalid):
    """400 with the RFC's error code (``authorization_pending``, ``slow_down``,
    ``expired_token``, ``access_denied``) as the error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PendingDevice:
    authorization: DeviceAuthorization
    device_code: str


def format_user_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def normalize_user_code(typed: str) -> str:
    """What the user typed (any case, with or without the dash or spaces)."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())


def start(session: Session, client_name: str, requested_ip: str | None) -> PendingDevice:
    device_code = secrets.token_urlsafe(32)
    user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    authorization = DeviceAuthorization(
        device_code_hash=hash_secret(device_code),
        user_code=user_code,
        client_name=client_name,
        requested_ip=requested_ip,
        status=DeviceStatus.PENDING.value,
        expires_at=utcnow() + EXPIRES_IN,
    )
    session.add(authorization)
    session.flush()
    return PendingDevice(authorization, device_code)


def poll(
    session: Session, device_code: str, first_poll_within: Callable[[str, int], bool]
) -> MintedToken:
    """The token once approved, else raise the RFC's error for this state.

    ``first_poll_within(key, seconds)`` is the shared counter that tells a poll
    inside the interval (``slow_down``) from an on-time one.
    """
    digest = hash_secret(device_code)
    found = session.scalars(
        select(DeviceAuthorization).where(DeviceAuthorization.device_code_hash == digest)
    ).one_or_none()
    if found is None:
        raise Invalid("device_code: unknown device code; run `letter login` again.")
    if found.status == DeviceStatus.CONSUMED:
        raise DeviceFlowError("expired_token", "This device code was already used.")
    if found.expires_at <= utcnow():
        raise DeviceFlowError("expired_token", "The device code expired; run `letter login` again.")
    if not first_poll_within(f"device/{digest}", INTERVAL):
        raise DeviceFlowError("slow_down", f"Poll at most every {INTERVAL} seconds.")
    if found.status == DeviceStatus.DENIED:
        raise DeviceFlowError("access_denied", "The request was denied in the browser.")
    if found.status == DeviceStatus.PENDING:
        raise DeviceFlowError("authorization_pending", "Waiting for approval in the browser.")
    assert found.user_id is not None and found.workspace_id is not None
    minted = mint_token(
        session, user_id=found.user_id, workspace_id=found.workspace_id, name=found.client_name
    )
    found.status = DeviceStatus.CONSUMED.value
    found.token_id = minted.token.id
    return minted


def find_pending(session: Session, typed_code: str) -> DeviceAuthorization:
    """The live, undecided authorization for a user code, or NotFound."""
    code = normalize_user_code(typed_code)
    found = session.scalars(
        select(DeviceAuthorization).where(DeviceAuthorization.user_code == code)
    ).one_or_none()
    if found is None or found.status != DeviceStatus.PENDING or found.expires_at <= utcnow():
        raise NotFound("No pending login with this code; it may have expired or been used.")
    return found


def workspaces_of(session: Session, user: User) -> list[tuple[Workspace, str]]:
    rows = session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user.id)
        .order_by(Workspace.created_at)
    ).all()
    return [(ws, role) for ws, role in rows]


def decide(
    session: Session,
    user: User,
    typed_code: str,
    *,
    approve: bool,
    workspace_id: uuid.UUID | None,
) -> DeviceAuthorization:
    """Approve (for one of the user's workspaces) or deny a pending login."""
    found = find_pending(session, typed_code)
    if approve:
        memberships = {ws.id for ws, _ in workspaces_of(session, user)}
        if workspace_id is None and len(memberships) == 1:
            workspace_id = next(iter(memberships))
        if workspace_id not in memberships:
            raise Forbidden("Choose one of your workspaces.")
        found.workspace_id = workspace_id
    found.user_id = user.id
    found.status = (DeviceStatus.APPROVED if approve else DeviceStatus.DENIED).value
    found.decided_at = utcnow()
    return found
