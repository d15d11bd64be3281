"""The dashboard's front door: ``/`` (the workspace's projects, or the next
step when there are none), choosing a workspace and a project, creating a
project, a project's overview, and signing out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from letter.auth import web_sessions
from letter.auth.access import Action
from letter.contacts.counts import totals
from letter.delivery.sender import from_address
from letter.errors import LetterError
from letter.projects import service as project_service
from letter.projects.schemas import ProjectCreate
from letter.web.context import (
    WORKSPACE_COOKIE,
    DashDep,
    PageRoute,
    PostDep,
    field_errors,
    parse_form,
    redirect,
)
from letter.web.session import COOKIE, runtime_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Text = Annotated[str, Form(max_length=1000)]


@router.get("/")
def home(dash: DashDep) -> Response:
    return dash.page("dash/home.html", form={})


@router.get("/go")
def go(dash: DashDep, project: Annotated[str, Query(max_length=64)] = "") -> Response:
    target = next((p for p in dash.projects if p.slug == project), None)
    return RedirectResponse(f"/p/{target.slug}" if target else "/", status_code=303)


@router.post("/workspace")
def choose_workspace(
    request: Request, dash: PostDep, workspace_id: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    chosen = next((ws for ws, _ in dash.workspaces if str(ws.id) == workspace_id), None)
    response = redirect(request, "/")
    if chosen is not None:
        response.set_cookie(WORKSPACE_COOKIE, str(chosen.id), max_age=365 * 86400,
                            httponly=True, samesite="lax", path="/",
                            secure=request.url.scheme == "https")
    return response


@router.post("/projects")
def create_project(request: Request, dash: PostDep, name: Text = "",
                   timezone: Text = "") -> Response:
    form = {"name": name, "timezone": timezone}
    try:
        dash.authorize(Action.CREATE_PROJECT)
        body = parse_form(ProjectCreate, {"name": name, "timezone": timezone or None})
        project = project_service.create_project(
            dash.session, dash.workspace.id, body.name, body.timezone)
    except LetterError as exc:
        return dash.page("dash/home.html", exc.status, form=form,
                         errors=field_errors(exc, ("name", "timezone")))
    return redirect(request, f"/p/{project.slug}")


@router.get("/p/{slug}")
def overview(request: Request, slug: str, dash: DashDep) -> Response:
    project = dash.project(slug)
    settings = runtime_of(request).settings
    return dash.page("dash/overview.html", project=project,
                     total=totals(dash.session, project.id),
                     sender=from_address(project, settings.sending_domain),
                     public_url=settings.public_url.rstrip("/"))


@router.post("/sign-out")
def sign_out(request: Request, dash: PostDep) -> Response:
    web_sessions.sign_out(dash.session, dash.row)
    response = redirect(request, "/sign-in")
    response.delete_cookie(COOKIE, path="/")
    return response

