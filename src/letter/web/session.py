"""The pages' session cookie and the CSRF check every form goes through.

The cookie is HttpOnly, SameSite=Lax and ``Secure`` whenever the page was
served over https, so it never travels in clear once TLS is in place.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from letter.auth import web_sessions
from letter.auth.models import User, WebSession
from letter.auth.web_sessions import OpenedSession
from letter.runtime import Runtime

__all__ = [
    "COOKIE",
    "current",
    "db_session",
    "ensure_session",
    "redirect_to_sign_in",
    "runtime_of",
    "safe_next",
    "set_cookie",
    "signed_in",
]

COOKIE = "letter_session"


def db_session(request: Request) -> Session:
    session: Session = request.state.session
    return session


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def current(request: Request) -> WebSession | None:
    return web_sessions.resolve(db_session(request), request.cookies.get(COOKIE))


def signed_in(request: Request) -> tuple[WebSession, User] | None:
    row = current(request)
    user = web_sessions.user_of(db_session(request), row)
    return None if row is None or user is None else (row, user)


def ensure_session(request: Request) -> tuple[WebSession, OpenedSession | None]:
    """The visitor's session, opening an anonymous one (to be set as the
    cookie: the second value) when there is none."""
    row = current(request)
    if row is not None:
        return row, None
    opened = web_sessions.open_anonymous(db_session(request))
    return opened.row, opened


def set_cookie(request: Request, response: Response, opened: OpenedSession | None) -> None:
    if opened is None:
        return
    lifetime = opened.row.expires_at - opened.row.created_at
    response.set_cookie(
        COOKIE,
        opened.raw,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def safe_next(target: str | None, default: str = "/device") -> str:
    """Only paths on this site: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def redirect_to_sign_in(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(here, safe='')}", status_code=303)
