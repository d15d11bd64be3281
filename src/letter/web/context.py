"""The dashboard's request context: who is signed in, in which workspace
(chosen by a cookie among the user's memberships), with which role; the CSRF
check every non-GET passes; the project a URL names; and the route class that
turns domain errors into pages.

Roles are never decided here: ``Dash.project`` and ``Dash.authorize`` ask
``letter.auth.access``, the table the API's dependencies ask too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from letter.api.errors import validation_message
from letter.auth import device, web_sessions
from letter.auth.access import Action, allows, authorize
from letter.auth.models import User, WebSession, Workspace
from letter.auth.service import Principal
from letter.errors import Forbidden, Invalid, LetterError, NotFound
from letter.projects import service as project_service
from letter.projects.models import Project
from letter.web.session import db_session, redirect_to_sign_in, runtime_of, signed_in
from letter.web.templating import render

__all__ = [
    "CSRF_HEADER",
    "WORKSPACE_COOKIE",
    "Dash",
    "DashDep",
    "FieldsDep",
    "PageRoute",
    "PostDep",
    "field_errors",
    "parse_form",
    "posted",
    "redirect",
    "uuid_or_404",
]

WORKSPACE_COOKIE = "letter_workspace"
CSRF_PURPOSE = "dashboard"
CSRF_HEADER = "x-csrf-token"
SWITCHER_LIMIT = 100
M = TypeVar("M", bound=BaseModel)


class SignInRequired(Exception):
    """Raised by the context when nobody is signed in: the route answers
    with a redirect to the sign-in page."""


@dataclass
class Dash:
    request: Request
    session: Session
    row: WebSession
    user: User
    workspaces: list[tuple[Workspace, str]]
    workspace: Workspace
    role: str
    csrf: str
    current: Project | None = None
    _projects: list[Project] | None = field(default=None, repr=False)

    @property
    def principal(self) -> Principal:
        """The same caller shape the API's services take (the session stands
        in for a token)."""
        return Principal(token_id=self.row.id, user=self.user, workspace=self.workspace,
                         role=self.role)

    def may(self, action: Action) -> bool:
        return allows(self.role, action)

    def authorize(self, action: Action) -> None:
        authorize(self.role, action)

    def project(self, slug: str, action: Action = Action.USE_PROJECT) -> Project:
        """The workspace's project ``slug`` for a caller allowed ``action``;
        another workspace's project is simply not found."""
        authorize(self.role, action)
        self.current = project_service.get_project(self.session, self.workspace.id, slug)
        return self.current

    @property
    def projects(self) -> list[Project]:
        if self._projects is None:
            self._projects = list(self.session.scalars(
                select(Project).where(Project.workspace_id == self.workspace.id)
                .order_by(Project.name).limit(SWITCHER_LIMIT)))
        return self._projects

    def page(self, template: str, status_code: int = 200, /, **context: Any) -> Response:
        context.setdefault("errors", {})
        context.setdefault("error", None)
        context.setdefault("notice", None)
        return render(template, status_code, dash=self, Action=Action,
                      request_path=self.request.url.path, **context)


def _dash(request: Request) -> Dash:
    who = signed_in(request)
    if who is None:
        raise SignInRequired
    row, user = who
    session = db_session(request)
    workspaces = device.workspaces_of(session, user)
    if not workspaces:
        raise Forbidden("You are not a member of any workspace; ask for an invitation.")
    chosen = request.cookies.get(WORKSPACE_COOKIE, "")
    workspace, role = next(((ws, r) for ws, r in workspaces if str(ws.id) == chosen),
                           workspaces[0])
    secret = runtime_of(request).settings.secret_key or ""
    return Dash(request=request, session=session, row=row, user=user, workspaces=workspaces,
                workspace=workspace, role=role,
                csrf=web_sessions.csrf_token(secret, row, CSRF_PURPOSE))


async def _sent_token(request: Request) -> str:
    """The CSRF token of a non-GET: htmx sends it as a header on every
    request (``hx-headers`` on <body>); plain forms carry a hidden field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form(max_fields=MAX_FIELDS)).get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


def _posted(request: Request, token: Annotated[str, Depends(_sent_token)]) -> Dash:
    return posted(request, token)


def posted(request: Request, token: str) -> Dash:
    """The context of a non-GET whose CSRF token is ``token`` (else Forbidden)."""
    dash = _dash(request)
    secret = runtime_of(request).settings.secret_key or ""
    web_sessions.check_csrf(secret, dash.row, CSRF_PURPOSE, token)
    return dash


MAX_FIELDS = 2000


async def _fields(request: Request) -> dict[str, str]:
    """A form's text fields, for forms whose field names are data (the
    segment builder's tree)."""
    form = await request.form(max_fields=MAX_FIELDS)
    return {k: v for k, v in form.items() if isinstance(v, str)}


DashDep = Annotated[Dash, Depends(_dash)]
FieldsDep = Annotated[dict[str, str], Depends(_fields)]
PostDep = Annotated[Dash, Depends(_posted)]


def redirect(request: Request, url: str) -> Response:
    """After a successful form: htmx navigates (so the address bar follows),
    a plain browser gets a 303."""
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def field_errors(error: LetterError, fields: tuple[str, ...]) -> dict[str, str]:
    """Where to show an error: services name the field first ("timezone: …");
    an error that names none of ``fields`` goes at the top of the form."""
    head, sep, _ = error.message.partition(":")
    name = head.split(".")[0].split("[")[0]
    return {name: error.message} if sep and name in fields else {"_": error.message}


def parse_form(model: type[M], data: dict[str, Any]) -> M:
    """Validate form values with the API's own request model, so a bad value
    gets the message the API would give."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(validation_message(RequestValidationError(exc.errors()))) from exc


def _error_page(request: Request, error: LetterError) -> Response:
    if request.headers.get("hx-request") and error.status in (401, 403, 404):
        # A fragment request: say it where the fragment would have gone.
        return render("dash/_alert.html", error.status, message=error.message)
    return render("dash/error.html", error.status, error=error.message,
                  title="Not found" if isinstance(error, NotFound) else "Something is wrong")


class PageRoute(APIRoute):
    """A dashboard route: signed-out visitors go to the sign-in page, and a
    domain error becomes an HTML page with its status (the transaction rolls
    back, as for every response of 400 and above)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except SignInRequired:
                if request.headers.get("hx-request"):
                    target = redirect_to_sign_in(request).headers["location"]
                    return Response(status_code=200, headers={"HX-Redirect": target})
                return redirect_to_sign_in(request)
            except LetterError as exc:
                return _error_page(request, exc)
            except RequestValidationError as exc:
                if any(err.get("loc", ("",))[0] == "path" for err in exc.errors()):
                    return _error_page(request, NotFound("No such page."))
                return _error_page(request, Invalid(validation_message(exc)))

        return handler


def uuid_or_404(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound("No such page.") from exc
