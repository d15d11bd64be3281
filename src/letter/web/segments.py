"""Segments: the list, and the filter builder with a live count as you edit.

The builder is server-rendered: adding or removing a condition posts the
form and gets the tree back (htmx swaps it); every edit also answers the
preview count, computed by ``segments.service.preview`` like the API's
``POST …/segments/preview``.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from letter.audience import service as audience
from letter.audience import topics
from letter.contacts.counts import totals
from letter.db.pagination import PageParams
from letter.errors import LetterError
from letter.projects.models import Project
from letter.segments import service
from letter.segments.models import Segment
from letter.segments.schemas import SegmentCreate
from letter.web.context import (
    Dash,
    DashDep,
    FieldsDep,
    PageRoute,
    PostDep,
    parse_form,
    redirect,
    uuid_or_404,
)
from letter.web.filterform import (
    KINDS,
    OPERATOR_LABELS,
    Node,
    apply_edit,
    from_form,
    from_spec,
    node_of_error,
    to_spec,
)

router = APIRouter(prefix="/p/{slug}/segments", include_in_schema=False, route_class=PageRoute)
OPTIONS = PageParams(limit=100)


def _choices(dash: Dash, project: Project) -> dict[str, Any]:
    """What the builder's fields offer: operators, lists and topics."""
    return {"kinds": KINDS, "operators": OPERATOR_LABELS,
            "lists": audience.list_lists(dash.session, project.id, OPTIONS).items,
            "topics": topics.list_topics(dash.session, project.id, OPTIONS).items}


@router.get("")
def segments_page(slug: str, dash: DashDep) -> Response:
    project = dash.project(slug)
    items = service.list_segments(dash.session, project.id, PageParams(limit=100)).items
    return dash.page("dash/segments.html", project=project, segments=items)


def _errors(exc: LetterError) -> dict[str, str]:
    node = node_of_error(exc.message)
    if node is not None:
        return {node: exc.message}
    if exc.message.startswith("name"):
        return {"name": exc.message}
    return {"_": exc.message}


def _preview(dash: Dash, project: Project, tree: Node) -> dict[str, Any]:
    try:
        matches, total = service.preview(dash.session, project.id, to_spec(tree.fields()))
    except LetterError as exc:
        return {"matches": None, "total": None, "problem": exc.message,
                "errors": _errors(exc)}
    return {"matches": matches, "total": total, "problem": None, "errors": {}}


def _builder(dash: Dash, project: Project, tree: Node, segment: Segment | None,
             name: str, status: int = 200, errors: dict[str, str] | None = None,
             template: str = "dash/segment.html") -> Response:
    preview = _preview(dash, project, tree)
    return dash.page(template, status, project=project, tree=tree, segment=segment,
                     name=name, preview=preview, **_choices(dash, project),
                     errors=errors if errors is not None else preview["errors"])


@router.get("/new")
def new_segment(slug: str, dash: DashDep) -> Response:
    project = dash.project(slug)
    tree = apply_edit(from_form({}), "add-trait:r")
    return _builder(dash, project, tree, None, "", errors={})


@router.get("/{segment_id}")
def edit_segment(slug: str, segment_id: str, dash: DashDep) -> Response:
    project = dash.project(slug)
    segment = service.get_segment(dash.session, project.id, uuid_or_404(segment_id))
    # Opening the page shows the cached count; edits count live.
    cached: dict[str, Any] = {
        "matches": segment.count, "total": totals(dash.session, project.id).value,
        "problem": None if segment.count is not None else "not counted yet", "errors": {}}
    return dash.page("dash/segment.html", project=project, tree=from_spec(segment.filter),
                     segment=segment, name=segment.name, preview=cached,
                     **_choices(dash, project), errors={})


@router.post("/builder")
def builder(slug: str, dash: PostDep, form: FieldsDep) -> Response:
    """An edit of the tree (``edit`` = ``add-<kind>:<path>`` or ``remove:<path>``):
    answers the tree and the count."""
    project = dash.project(slug)
    tree = apply_edit(from_form(form), form.get("edit", ""))
    return _builder(dash, project, tree, None, form.get("name", ""),
                    template="dash/_builder.html")


@router.post("/preview")
def preview(slug: str, dash: PostDep, form: FieldsDep) -> Response:
    """The count for the tree as it stands (fired as fields change)."""
    project = dash.project(slug)
    return dash.page("dash/_preview.html", preview=_preview(dash, project, from_form(form)))


@router.post("")
def create(request: Request, slug: str, dash: PostDep, form: FieldsDep) -> Response:
    return _save(request, slug, dash, None, form)


@router.post("/{segment_id}")
def update(request: Request, slug: str, segment_id: str, dash: PostDep,
           form: FieldsDep) -> Response:
    return _save(request, slug, dash, uuid_or_404(segment_id), form)


@router.post("/{segment_id}/delete")
def delete(request: Request, slug: str, segment_id: str, dash: PostDep) -> Response:
    project = dash.project(slug)
    service.delete_segment(dash.session, project.id, uuid_or_404(segment_id))
    return redirect(request, f"/p/{project.slug}/segments")


def _save(request: Request, slug: str, dash: Dash, segment_id: uuid.UUID | None,
          form: dict[str, str]) -> Response:
    project = dash.project(slug)
    tree = from_form(form)
    name = form.get("name", "")
    segment = None
    try:
        if segment_id is not None:
            segment = service.get_segment(dash.session, project.id, segment_id)
        body = parse_form(SegmentCreate, {"name": name, "filter": to_spec(form)})
        if segment is None:
            saved = service.create_segment(dash.session, project.id, body.name, body.filter)
        else:
            saved = service.update_segment(dash.session, project.id, segment.id, body.name,
                                           body.filter)
    except LetterError as exc:
        return _builder(dash, project, tree, segment, name, exc.status, _errors(exc))
    return redirect(request, f"/p/{project.slug}/contacts?segment={saved.id}")
