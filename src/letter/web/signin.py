"""``/sign-in``: email and password, into a cookie session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from letter.auth import web_sessions
from letter.errors import Forbidden, RateLimited, Unauthorized
from letter.web.session import (
    current,
    db_session,
    ensure_session,
    runtime_of,
    safe_next,
    set_cookie,
    signed_in,
)
from letter.web.templating import render

router = APIRouter(include_in_schema=False)

PURPOSE = "sign-in"


def _form(request: Request, next_path: str, email: str = "", error: str | None = None,
          status_code: int = 200) -> Response:
    row, opened = ensure_session(request)
    token = web_sessions.csrf_token(runtime_of(request).settings.secret_key or "", row, PURPOSE)
    response = render(
        "sign_in.html", status_code, csrf_token=token, next=next_path, email=email, error=error
    )
    set_cookie(request, response, opened)
    return response


@router.get("/sign-in")
def sign_in_page(
    request: Request, next: Annotated[str, Query(max_length=2000)] = ""
) -> Response:
    if signed_in(request) is not None:
        return RedirectResponse(safe_next(next, "/"), status_code=303)
    return _form(request, safe_next(next, "/"))


@router.post("/sign-in")
def sign_in(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    target = safe_next(next, "/")
    runtime = runtime_of(request)
    row = current(request)
    try:
        web_sessions.check_csrf(runtime.settings.secret_key or "", row, PURPOSE, csrf_token)
        opened = web_sessions.sign_in(
            db_session(request),
            runtime.limiter,
            email=email,
            password=password,
            client_ip=request.client.host if request.client else "unknown",
            previous=row,
        )
    except Forbidden as exc:
        return _form(request, target, email, exc.message, 403)
    except Unauthorized as exc:
        return _form(request, target, email, exc.message, 401)
    except RateLimited as exc:
        response = _form(request, target, email, exc.message, 429)
        response.headers["Retry-After"] = str(exc.extra.get("retryAfter", 60))
        return response
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, opened)
    return response
