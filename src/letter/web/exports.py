"""Exports: the contacts page's Export action (what its filters show, as the
API's ``POST …/contacts/exports`` takes it) and the recent exports with their
signed download links, polled while one is being written.

Every action calls ``letter.imports.exports``, the service the API's export
routes call: its 20-an-hour limit answers 429 here too, shown as a message.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from letter.api.imports import links_of
from letter.clock import utcnow
from letter.db.pagination import PageParams
from letter.errors import LetterError
from letter.imports import exports
from letter.imports.models import ExportJob, ExportStatus
from letter.imports.schemas import ExportCreate
from letter.projects.models import Project
from letter.web.contacts import filter_options
from letter.web.context import (
    Dash,
    DashDep,
    PageRoute,
    PostDep,
    parse_form,
    redirect,
    uuid_or_404,
)
from letter.web.session import runtime_of

__all__ = ["describe", "export_params", "router"]

router = APIRouter(prefix="/p/{slug}/exports", include_in_schema=False, route_class=PageRoute)

RECENT = 50
Choice = Annotated[str, Form(max_length=320)]
WORKING = (ExportStatus.QUEUED, ExportStatus.RUNNING)


def export_params(q: str, status: str, segment: str, in_list: str, topic: str
                  ) -> dict[str, Any]:
    """The contacts page's filters as the API's export request (checked by
    its own model, so a bad value gets the API's message)."""
    body = parse_form(ExportCreate, {
        "segment_id": segment or None, "list_id": in_list or None, "topic_id": topic or None,
        "status": status or None, "email_contains": q.strip() or None})
    return body.model_dump(mode="json")


def _names(dash: Dash, project: Project) -> dict[str, str]:
    options = filter_options(dash, project.id)
    return {str(o.id): o.name for key in ("segments", "lists", "topics") for o in options[key]}


def describe(params: dict[str, Any], names: dict[str, str]) -> str:
    """What an export selected, in words."""
    parts = []
    for key, label in (("segment_id", "segment"), ("list_id", "list"),
                       ("topic_id", "subscribed to")):
        if params.get(key):
            parts.append(f"{label} {names.get(params[key], params[key])}")
    if params.get("status"):
        parts.append(str(params["status"]))
    if params.get("email_contains"):
        parts.append(f"email contains “{params['email_contains']}”")
    if params.get("filter") is not None:
        parts.append("a filter")
    return ", ".join(parts) or "all contacts"


def _row(dash: Dash, export: ExportJob, names: dict[str, str]) -> dict[str, Any]:
    url = exports.download_url(export, links_of(runtime_of(dash.request)), utcnow())
    return {"export": export, "what": describe(export.params, names), "url": url}


def _page(dash: Dash, project: Project, found: list[ExportJob], poll_url: str,
          status: int = 200, **context: Any) -> Response:
    names = _names(dash, project)
    rows = [_row(dash, e, names) for e in found]
    polling = any(e.status in WORKING for e in found)
    return dash.page("dash/exports.html", status, project=project, rows=rows, polling=polling,
                     poll_url=poll_url, **context)


def _recent(dash: Dash, project: Project, status: int = 200, **context: Any) -> Response:
    found = exports.list_exports(dash.session, project.id, PageParams(limit=RECENT)).items
    return _page(dash, project, found, f"/p/{project.slug}/exports", status, **context)


@router.get("")
def exports_page(slug: str, dash: DashDep) -> Response:
    return _recent(dash, dash.project(slug))


@router.get("/{export_id}")
def export_page(slug: str, export_id: str, dash: DashDep) -> Response:
    """One export, polled until its file is ready."""
    project = dash.project(slug)
    export = exports.get_export(dash.session, project.id, uuid_or_404(export_id))
    return _page(dash, project, [export], f"/p/{project.slug}/exports/{export.id}",
                 single=True)


@router.post("")
def start_export(request: Request, slug: str, dash: PostDep, q: Choice = "",
                 status: Choice = "", segment: Choice = "",
                 in_list: Annotated[str, Form(alias="list", max_length=320)] = "",
                 topic: Choice = "") -> Response:
    project = dash.project(slug)
    try:
        params = export_params(q, status, segment, in_list, topic)
        export = exports.create_export(dash.session, project.id, dash.user.id, params)
    except LetterError as exc:
        return _refused(request, dash, project, exc)
    return redirect(request, f"/p/{project.slug}/exports/{export.id}?started=1")


def _refused(request: Request, dash: Dash, project: Project, exc: LetterError) -> Response:
    """The API's message where the Export button is (429 past the hourly limit)."""
    headers = {"Retry-After": str(exc.extra["retryAfter"])} if "retryAfter" in exc.extra else {}
    if request.headers.get("hx-request"):
        response = dash.page("dash/_alert.html", exc.status, message=exc.message)
    else:
        response = _recent(dash, project, exc.status, error=exc.message)
    response.headers.update(headers)
    return response
