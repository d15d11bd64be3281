"""Browser sessions of the pages: sign-in, CSRF tokens, sign-out.

A session's cookie value is shown to the browser only; the table keeps its
SHA-256. Every form carries a CSRF token derived from the session and its
``csrf_secret``; the secret changes after each accepted form, so a token works
once and only in the session it was issued to.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from letter.auth.models import DeviceAuthorization, User, WebSession
from letter.auth.security import hash_password, hash_secret, verify_password
from letter.clock import utcnow
from letter.errors import Forbidden, RateLimited, Unauthorized
from letter.ratelimit import RateLimiter

__all__ = [
    "OpenedSession",
    "check_csrf",
    "csrf_token",
    "open_anonymous",
    "prune_expired",
    "resolve",
    "sign_in",
    "sign_out",
    "spend_csrf",
    "user_of",
]

ANONYMOUS_LIFETIME = timedelta(hours=1)
SIGNED_IN_LIFETIME = timedelta(days=14)
WRONG_CREDENTIALS = "Wrong email or password."
# Unknown emails are checked against this too, so both answers take as long.
_DUMMY_HASH = hash_password(secrets.token_hex(16))


@dataclass(frozen=True)
class OpenedSession:
    row: WebSession
    raw: str  # the cookie value, never stored


def _open(session: Session, user_id: object, lifetime: timedelta) -> OpenedSession:
    raw = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=hash_secret(raw),
        user_id=user_id,
        csrf_secret=secrets.token_hex(32),
        expires_at=utcnow() + lifetime,
    )
    session.add(row)
    session.flush()
    return OpenedSession(row, raw)


def open_anonymous(session: Session) -> OpenedSession:
    return _open(session, None, ANONYMOUS_LIFETIME)


def resolve(session: Session, raw: str | None) -> WebSession | None:
    """The live session a cookie names, or None."""
    if not raw:
        return None
    row = session.scalars(
        select(WebSession).where(WebSession.token_hash == hash_secret(raw))
    ).one_or_none()
    if row is None or row.expires_at <= utcnow():
        return None
    return row


def user_of(session: Session, row: WebSession | None) -> User | None:
    if row is None or row.user_id is None:
        return None
    return session.get(User, row.user_id)


def csrf_token(secret_key: str, row: WebSession, purpose: str) -> str:
    message = f"{row.id}:{row.csrf_secret}:{purpose}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def check_csrf(secret_key: str, row: WebSession | None, purpose: str, token: str) -> WebSession:
    if row is None or not hmac.compare_digest(csrf_token(secret_key, row, purpose), token):
        raise Forbidden("This form expired or did not come from Letter; reload the page.")
    return row


def spend_csrf(row: WebSession) -> None:
    """After an accepted form: its token (and any other issued) stops working."""
    row.csrf_secret = secrets.token_hex(32)


def sign_in(
    session: Session,
    limiter: RateLimiter,
    *,
    email: str,
    password: str,
    client_ip: str,
    previous: WebSession | None,
) -> OpenedSession:
    """A new signed-in session (the anonymous one is dropped), or raise.

    Only failures count towards the lockout, per email and per address, so a
    guesser is stopped while the real user's successful sign-ins cost nothing.
    """
    email = email.strip().lower()
    wait = max(limiter.exhausted("signin_email", email), limiter.exhausted("signin_ip", client_ip))
    if wait:
        minutes = -(-wait // 60)
        raise RateLimited(
            f"Too many failed sign-ins. Try again in {minutes} minute(s).", retryAfter=wait
        )
    user = session.scalars(select(User).where(User.email == email)).one_or_none()
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    if not verify_password(stored, password) or user is None or not user.password_hash:
        limiter.count_failure("signin_email", email)
        limiter.count_failure("signin_ip", client_ip)
        raise Unauthorized(WRONG_CREDENTIALS)
    if previous is not None:
        session.delete(previous)
    return _open(session, user.id, SIGNED_IN_LIFETIME)


def sign_out(session: Session, row: WebSession) -> None:
    session.execute(delete(WebSession).where(WebSession.id == row.id))


def prune_expired(session: Session, limit: int = 1000) -> int:
    """Delete up to ``limit`` expired sessions and device logins past their
    expiry (a day late, so a slow CLI still hears ``expired_token``)."""
    now = utcnow()
    gone = 0
    for model, cutoff in (
        (WebSession, now),
        (DeviceAuthorization, now - timedelta(days=1)),
    ):
        ids = select(model.id).where(model.expires_at < cutoff).limit(limit)
        result = session.execute(delete(model).where(model.id.in_(ids)))
        gone += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return gone
