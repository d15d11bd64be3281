"""Broadcasts: the list, the composer (subject, preview text, body, template,
audience, topic), preflight with who is left out and why, a test send, scheduling,
and the live page whose counters poll while it sends; pause, resume, cancel.

Every action calls the service the API's broadcast routes call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from letter.audience import topics
from letter.broadcasts import service
from letter.broadcasts.live import live
from letter.broadcasts.models import Broadcast, BroadcastStatus
from letter.broadcasts.preflight import require_sendable
from letter.broadcasts.schemas import BroadcastUpdate, ScheduleIn, TestSendIn
from letter.broadcasts.testsend import send_test
from letter.clock import utcnow
from letter.db.pagination import PageParams
from letter.delivery.sender import from_address
from letter.errors import Invalid, LetterError
from letter.projects.models import Project
from letter.segments import service as segments
from letter.templates import service as templates
from letter.templates.bodydoc import has_content, render_body
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

router = APIRouter(prefix="/p/{slug}/broadcasts", include_in_schema=False,
                   route_class=PageRoute)

Text = Annotated[str, Form(max_length=100_000)]
FIELDS = ("name", "subject", "preview", "body", "body_doc", "template_id", "audience",
          "topic_id", "to", "as_external_id", "scheduled_at", "local_time")
EVERYONE = "everyone"
LIVE_STATES = (BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING)


def body_doc(text: str) -> dict[str, Any] | None:
    """Paragraphs (blank-line separated) as a TipTap document; line breaks kept."""
    paragraphs = [p.strip("\n") for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    if not paragraphs:
        return None
    content = []
    for paragraph in paragraphs:
        inline: list[dict[str, Any]] = []
        for i, line in enumerate(paragraph.split("\n")):
            if i:
                inline.append({"type": "hardBreak"})
            if line:
                inline.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": inline})
    return {"type": "doc", "content": content}


def edited_doc(editor_json: str, text: str) -> dict[str, Any] | None:
    """The body editor's JSON when it sent one (checked by the renderer that
    sends it), else the plain-text fallback as paragraphs."""
    if not editor_json.strip():
        return body_doc(text)
    try:
        doc = orjson.loads(editor_json)
    except orjson.JSONDecodeError as exc:
        raise Invalid("body_doc: not a JSON document") from exc
    if not isinstance(doc, dict):
        raise Invalid("body_doc: must be a document object")
    render_body(doc)  # raises Invalid naming the bad node
    return doc if has_content(doc) else None


def body_text(doc: Any) -> str:
    """The text of a document's paragraphs and headings, for editing."""
    if not isinstance(doc, dict):
        return ""
    blocks = []
    for block in doc.get("content") or []:
        parts = []
        for node in block.get("content") or []:
            parts.append("\n" if node.get("type") == "hardBreak" else node.get("text", ""))
        blocks.append("".join(parts))
    return "\n\n".join(blocks)


def audience_value(audience: Any) -> str:
    if isinstance(audience, dict) and audience.get("kind") == "segment":
        return str(audience.get("segmentId"))
    return EVERYONE if audience else ""


def _audience(value: str) -> dict[str, Any] | None:
    if not value:
        return None
    if value == EVERYONE:
        return {"kind": "inline", "filter": {"kind": "group", "op": "and", "children": []}}
    return {"kind": "segment", "segmentId": value}


@router.get("")
def broadcasts_page(slug: str, dash: DashDep) -> Response:
    project = dash.project(slug)
    items = service.list_broadcasts(dash.session, project.id, PageParams(limit=100)).items
    return dash.page("dash/broadcasts.html", project=project, broadcasts=items, form={})


@router.post("")
def create(request: Request, slug: str, dash: PostDep, name: Text = "") -> Response:
    project = dash.project(slug)
    try:
        broadcast = service.create_broadcast(
            dash.session, project.id,
            from_email=from_address(project, runtime_of(request).settings.sending_domain),
            name=name or None)
    except LetterError as exc:
        items = service.list_broadcasts(dash.session, project.id, PageParams(limit=100)).items
        return dash.page("dash/broadcasts.html", exc.status, project=project, broadcasts=items,
                         form={"name": name}, errors=field_errors(exc, ("name",)))
    return redirect(request, f"/p/{project.slug}/broadcasts/{broadcast.id}")


def _page(dash: Dash, project: Project, broadcast: Broadcast, status: int = 200,
          **context: Any) -> Response:
    if broadcast.status != BroadcastStatus.DRAFT:
        stats, activity = live(dash.session, broadcast)
        return dash.page("dash/broadcast_live.html", status, project=project,
                         broadcast=broadcast, stats=stats, activity=activity,
                         polling=broadcast.status in LIVE_STATES, **context)
    form = {"name": broadcast.name, "subject": broadcast.subject or "",
            "preview": broadcast.preview or "", "body": body_text(broadcast.body_doc),
            "body_doc": orjson.dumps(broadcast.body_doc).decode() if broadcast.body_doc else "",
            "template_id": str(broadcast.template_id or ""),
            "audience": audience_value(broadcast.audience),
            "topic_id": str(broadcast.topic_id or "")} | context.pop("form", {})
    options = segments.list_segments(dash.session, project.id, PageParams(limit=100)).items
    designs = templates.list_templates(dash.session, project.id, PageParams(limit=100)).items
    subjects = topics.list_topics(dash.session, project.id, PageParams(limit=100)).items
    context.setdefault("preflight", None)
    audiences = [("", "Choose…"), (EVERYONE, "All contacts")]
    audiences += [(str(s.id), f"Segment: {s.name}") for s in options]
    return dash.page("dash/broadcast.html", status, project=project, broadcast=broadcast,
                     form=form, segments=options, audiences=audiences,
                     designs=[("", "The default template")]
                     + [(str(t.id), t.name) for t in designs],
                     topics=[("", "No topic: the whole audience")]
                     + [(str(t.id), f"Subscribers of {t.name}") for t in subjects], **context)


def _get(dash: Dash, slug: str, broadcast_id: str) -> tuple[Project, Broadcast]:
    project = dash.project(slug)
    return project, service.get_broadcast(dash.session, project.id, uuid_or_404(broadcast_id))


@router.get("/{broadcast_id}")
def broadcast_page(slug: str, broadcast_id: str, dash: DashDep) -> Response:
    return _page(dash, *_get(dash, slug, broadcast_id))


@router.get("/{broadcast_id}/live")
def live_fragment(slug: str, broadcast_id: str, dash: DashDep) -> Response:
    project, broadcast = _get(dash, slug, broadcast_id)
    stats, activity = live(dash.session, broadcast)
    return dash.page("dash/_broadcast_stats.html", project=project, broadcast=broadcast,
                     stats=stats, activity=activity, polling=broadcast.status in LIVE_STATES)


@router.post("/{broadcast_id}")
def save(request: Request, slug: str, broadcast_id: str, dash: PostDep, name: Text = "",
         subject: Text = "", preview: Text = "", body: Text = "", template_id: Text = "",
         audience: Text = "", body_doc: Annotated[str, Form(max_length=1_000_000)] = "",
         topic_id: Text = "") -> Response:
    project, broadcast = _get(dash, slug, broadcast_id)
    form = {"name": name, "subject": subject, "preview": preview, "body": body,
            "body_doc": body_doc, "template_id": template_id, "audience": audience,
            "topic_id": topic_id}
    try:
        doc = edited_doc(body_doc, body)
        changes = parse_form(BroadcastUpdate, {
            "name": name, "subject": subject or None, "preview": preview or None,
            "body_doc": doc, "template_id": template_id or None,
            "audience": _audience(audience), "topic_id": topic_id or None})
        service.update_broadcast(dash.session, project.id, broadcast.id,
                                 changes.model_dump(exclude_unset=True))
    except LetterError as exc:
        return _page(dash, project, broadcast, exc.status, form=form,
                     errors=field_errors(exc, FIELDS))
    return redirect(request, f"/p/{project.slug}/broadcasts/{broadcast.id}?saved=1")


@router.post("/{broadcast_id}/preflight")
def preflight(slug: str, broadcast_id: str, dash: PostDep) -> Response:
    project, broadcast = _get(dash, slug, broadcast_id)
    try:
        report = require_sendable(dash.session, broadcast, utcnow())
    except LetterError as exc:
        return _page(dash, project, broadcast, exc.status, errors=field_errors(exc, FIELDS))
    return _page(dash, project, broadcast, preflight=report)


@router.post("/{broadcast_id}/test")
def test(request: Request, slug: str, broadcast_id: str, dash: PostDep, to: Text = "",
         as_external_id: Text = "") -> Response:
    project, broadcast = _get(dash, slug, broadcast_id)
    form = {"to": to, "as_external_id": as_external_id}
    try:
        body = parse_form(TestSendIn, {"to": to, "as_external_id": as_external_id or None})
        send_test(dash.session, project, broadcast, to=body.to,
                  as_external_id=body.as_external_id,
                  sending_domain=runtime_of(request).settings.sending_domain)
    except LetterError as exc:
        return _page(dash, project, broadcast, exc.status, form=form,
                     errors=field_errors(exc, FIELDS))
    return _page(dash, project, broadcast, notice=f"A [Test] copy is on its way to {body.to}.")


@router.post("/{broadcast_id}/schedule")
def schedule(request: Request, slug: str, broadcast_id: str, dash: PostDep,
             scheduled_at: Text = "", local_time: Text = "",
             tz_offset: Annotated[int, Form(ge=-900, le=900)] = 0) -> Response:
    project, broadcast = _get(dash, slug, broadcast_id)
    form = {"scheduled_at": scheduled_at, "local_time": local_time}
    try:
        at = _instant(scheduled_at, tz_offset) if scheduled_at else None
        body = parse_form(ScheduleIn, {"scheduled_at": at, "local_time": bool(local_time)})
        service.schedule(dash.session, project.id, broadcast.id,
                         scheduled_at=body.scheduled_at, local_time=body.local_time)
    except LetterError as exc:
        return _page(dash, project, broadcast, exc.status, form=form,
                     errors=field_errors(exc, FIELDS))
    return redirect(request, f"/p/{project.slug}/broadcasts/{broadcast.id}")


def _instant(value: str, offset_minutes: int) -> str:
    """A ``datetime-local`` value in the browser's zone (its offset from UTC
    in minutes, as JavaScript's getTimezoneOffset gives it) as ISO-8601."""
    try:
        wall = datetime.fromisoformat(value)
    except ValueError:
        return value  # the model names the field and the problem
    if wall.tzinfo is not None:
        return wall.isoformat()
    sign = "-" if offset_minutes > 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{wall.isoformat()}{sign}{hours:02d}:{minutes:02d}"


@router.post("/{broadcast_id}/{action}")
def control(request: Request, slug: str, broadcast_id: str, action: str,
            dash: PostDep) -> Response:
    project, broadcast = _get(dash, slug, broadcast_id)
    moves = {"pause": service.pause, "resume": service.resume, "cancel": service.cancel}
    if action == "delete":
        service.delete_broadcast(dash.session, project.id, broadcast.id)
        return redirect(request, f"/p/{project.slug}/broadcasts")
    if action not in moves:
        return _page(dash, project, broadcast, 404, error="No such action.")
    moves[action](dash.session, project.id, broadcast.id)
    return redirect(request, f"/p/{project.slug}/broadcasts/{broadcast.id}")
