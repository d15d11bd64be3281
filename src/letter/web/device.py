"""``/device``: where a signed-in user approves or denies a CLI login."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from letter.auth import device, web_sessions
from letter.auth.models import User, WebSession
from letter.clock import iso
from letter.errors import LetterError
from letter.web.session import db_session, redirect_to_sign_in, runtime_of, signed_in
from letter.web.templating import render

router = APIRouter(include_in_schema=False)


def _purpose(code: str) -> str:
    return f"device:{device.normalize_user_code(code)}"


def _confirm(request: Request, row: WebSession, user: User, code: str) -> Response:
    session = db_session(request)
    try:
        found = device.find_pending(session, code)
    except LetterError as exc:
        return render("device_enter.html", exc.status, error=exc.message)
    secret = runtime_of(request).settings.secret_key or ""
    return render(
        "device_confirm.html",
        csrf_token=web_sessions.csrf_token(secret, row, _purpose(code)),
        user_code=device.format_user_code(found.user_code),
        client_name=found.client_name,
        requested_ip=found.requested_ip,
        requested_at=iso(found.created_at),
        email=user.email,
        workspaces=device.workspaces_of(session, user),
        error=None,
    )


@router.get("/device")
def device_page(
    request: Request, user_code: Annotated[str, Query(max_length=20)] = ""
) -> Response:
    who = signed_in(request)
    if who is None:
        return redirect_to_sign_in(request)
    if not user_code:
        return render("device_enter.html", error=None)
    return _confirm(request, *who, user_code)


@router.post("/device")
def decide(
    request: Request,
    user_code: Annotated[str, Form(max_length=20)] = "",
    action: Annotated[str, Form(max_length=10)] = "",
    workspace_id: Annotated[uuid.UUID | None, Form()] = None,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    who = signed_in(request)
    if who is None:
        return redirect_to_sign_in(request)
    row, user = who
    secret = runtime_of(request).settings.secret_key or ""
    try:
        web_sessions.check_csrf(secret, row, _purpose(user_code), csrf_token)
        if action not in ("approve", "deny"):
            return render("device_enter.html", 400, error="Choose approve or deny.")
        device.decide(
            db_session(request), user, user_code,
            approve=action == "approve", workspace_id=workspace_id,
        )
    except LetterError as exc:
        return render("device_enter.html", exc.status, error=exc.message)
    web_sessions.spend_csrf(row)
    return render("device_done.html", approved=action == "approve", error=None)
