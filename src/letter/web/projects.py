"""A project's settings (name, time zone, sender identity, sending mode,
daily cap, deletion) and its project tokens (ingestion keys, shown once)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from letter.auth.access import Action
from letter.db.pagination import PageParams
from letter.delivery.sender import from_address
from letter.domains import service as sending
from letter.domains.schemas import DailySendCap, SenderIdentity, SendingMode
from letter.errors import LetterError
from letter.projects import service
from letter.projects.models import Project
from letter.projects.schemas import KeyCreate, ProjectUpdate
from letter.web.context import (
    Dash,
    DashDep,
    PageRoute,
    PostDep,
    field_errors,
    parse_form,
    redirect,
    uuid_or_404,
)
from letter.web.session import runtime_of

router = APIRouter(prefix="/p/{slug}", include_in_schema=False, route_class=PageRoute)

Text = Annotated[str, Form(max_length=1000)]
SETTINGS_FIELDS = ("name", "timezone", "from_email", "from_name", "reply_to_email",
                   "sending_mode", "daily_send_cap")


def _settings(request: Request, dash: Dash, project: Project, status: int = 200,
              **context: Any) -> Response:
    context.setdefault("form", {})
    sender = from_address(project, runtime_of(request).settings.sending_domain)
    return dash.page("dash/settings.html", status, project=project, sender=sender, **context)


@router.get("/settings")
def settings_page(request: Request, slug: str, dash: DashDep) -> Response:
    return _settings(request, dash, dash.project(slug))


def _save(request: Request, dash: Dash, slug: str, action: Action, form: dict[str, Any],
          apply: Any) -> Response:
    """Authorize, apply one settings form, and answer with the page: the
    error next to its field (and nothing stored), or a notice."""
    project = dash.project(slug)
    try:
        dash.authorize(action)
        apply(project)
    except LetterError as exc:
        return _settings(request, dash, project, exc.status, form=form,
                         errors=field_errors(exc, SETTINGS_FIELDS))
    return redirect(request, f"/p/{project.slug}/settings?saved=1")


@router.post("/settings")
def save_general(request: Request, slug: str, dash: PostDep, name: Text = "",
                 timezone: Text = "") -> Response:
    form = {"name": name, "timezone": timezone}

    def apply(project: Project) -> None:
        body = parse_form(ProjectUpdate, form)
        service.update_project(dash.session, project, body.name, body.timezone)

    return _save(request, dash, slug, Action.RENAME_PROJECT, form, apply)


@router.post("/settings/sender")
def save_sender(request: Request, slug: str, dash: PostDep, from_email: Text = "",
                from_name: Text = "", reply_to_email: Text = "") -> Response:
    form = {"from_email": from_email, "from_name": from_name, "reply_to_email": reply_to_email}

    def apply(project: Project) -> None:
        body = parse_form(SenderIdentity, {k: v or None for k, v in form.items()}
                          | {"from_email": from_email})
        sending.set_sender_identity(dash.session, project, from_email=body.from_email,
                                    from_name=body.from_name or "",
                                    reply_to_email=body.reply_to_email)

    return _save(request, dash, slug, Action.MANAGE_SENDING, form, apply)


@router.post("/settings/sending-mode")
def save_mode(request: Request, slug: str, dash: PostDep, sending_mode: Text = "") -> Response:
    form = {"sending_mode": sending_mode}

    def apply(project: Project) -> None:
        body = parse_form(SendingMode, form)
        sending.set_sending_mode(dash.session, project, body.sending_mode)

    return _save(request, dash, slug, Action.MANAGE_SENDING, form, apply)


@router.post("/settings/daily-cap")
def save_cap(request: Request, slug: str, dash: PostDep, daily_send_cap: Text = "") -> Response:
    form = {"daily_send_cap": daily_send_cap}

    def apply(project: Project) -> None:
        body = parse_form(DailySendCap, form)
        sending.set_daily_send_cap(dash.session, project, body.daily_send_cap)

    return _save(request, dash, slug, Action.MANAGE_SENDING, form, apply)


@router.post("/delete")
def delete(request: Request, slug: str, dash: PostDep) -> Response:
    project = dash.project(slug, Action.DELETE_PROJECT)
    service.delete_project(dash.session, project)
    return redirect(request, "/")


def _tokens(dash: Dash, project: Project, status: int = 200, **context: Any) -> Response:
    keys = service.list_keys(dash.session, project.id, PageParams(limit=100)).items
    context.setdefault("form", {})
    return dash.page("dash/tokens.html", status, project=project, keys=keys, **context)


@router.get("/tokens")
def tokens_page(slug: str, dash: DashDep) -> Response:
    return _tokens(dash, dash.project(slug, Action.MANAGE_PROJECT_TOKENS))


@router.post("/tokens")
def mint_token(slug: str, dash: PostDep, name: Text = "") -> Response:
    project = dash.project(slug, Action.MANAGE_PROJECT_TOKENS)
    try:
        body = parse_form(KeyCreate, {"name": name or None})
        minted = service.create_key(dash.session, project.id, body.name)
    except LetterError as exc:
        return _tokens(dash, project, exc.status, form={"name": name},
                       errors=field_errors(exc, ("name",)))
    return _tokens(dash, project, 201, minted=minted)


@router.post("/tokens/{key_id}/revoke")
def revoke_token(request: Request, slug: str, key_id: str, dash: PostDep) -> Response:
    project = dash.project(slug, Action.MANAGE_PROJECT_TOKENS)
    service.revoke_key(dash.session, project.id, uuid_or_404(key_id))
    return redirect(request, f"/p/{project.slug}/tokens")
