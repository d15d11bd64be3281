"""Sequences: the list (a new one starts from a template flow), the flow
editor island, saving the draft with its expected revision, previewing and
test-sending an email step as edited, publishing, versions and activity
(per-node counts shown on the graph)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from letter.api.errors import JSONBytes, error_response
from letter.db.pagination import PageParams
from letter.errors import Invalid, LetterError
from letter.projects.models import Project
from letter.sequences import content, service
from letter.sequences.activity import activity
from letter.sequences.models import Sequence
from letter.sequences.schemas import DraftIn, EmailNodeIn, PreviewOut, TestEmailOut
from letter.templates import service as templates
from letter.web.context import (
    CSRF_HEADER,
    Dash,
    DashDep,
    FieldsDep,
    PageRoute,
    PostDep,
    parse_form,
    posted,
    redirect,
    uuid_or_404,
)
from letter.web.session import runtime_of

router = APIRouter(prefix="/p/{slug}/sequences", include_in_schema=False,
                   route_class=PageRoute)

Text = Annotated[str, Form(max_length=200)]
LISTED = PageParams(limit=100)
TEMPLATE_TRIGGER = {"type": "event", "eventName": "Signed Up"}


def template_flow() -> dict[str, Any]:
    """What a new sequence starts from: welcome email, a day, a follow-up."""
    def email(subject: str, text: str) -> dict[str, Any]:
        return {"type": "email", "subject": subject, "preview": "",
                "bodyDoc": {"type": "doc", "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": text}]}]}}

    nodes = [
        ("trigger", "trigger", {"type": "trigger"}),
        ("welcome", "email", email("Welcome, {{ contact.email }}", "Glad you are here.")),
        ("wait", "wait", {"type": "wait", "duration": {"value": 1, "unit": "days"}}),
        ("tips", "email", email("Three tips to start", "Here is how teams get going.")),
        ("exit", "exit", {"type": "exit"}),
    ]
    return {
        "nodes": [{"id": i, "type": t, "config": c, "position": {"x": 0, "y": 0}}
                  for i, t, c in nodes],
        "edges": [{"id": f"e{n}", "source": a[0], "target": b[0]}
                  for n, (a, b) in enumerate(itertools.pairwise(nodes))],
    }


@router.get("")
def sequences_page(slug: str, dash: DashDep) -> Response:
    project = dash.project(slug)
    items = service.list_sequences(dash.session, project.id, LISTED).items
    return dash.page("dash/sequences.html", project=project, sequences=items, form={})


@router.post("")
def create(request: Request, slug: str, dash: PostDep, name: Text = "") -> Response:
    project = dash.project(slug)
    try:
        sequence = service.create_sequence(dash.session, project.id, name or None)
    except LetterError as exc:
        items = service.list_sequences(dash.session, project.id, LISTED).items
        return dash.page("dash/sequences.html", exc.status, project=project, sequences=items,
                         form={"name": name}, errors={"name": exc.message})
    service.save_draft(dash.session, sequence, template_flow(), TEMPLATE_TRIGGER,
                       sequence.draft_revision)
    return redirect(request, f"/p/{project.slug}/sequences/{sequence.id}")


def _get(dash: Dash, slug: str, sequence_id: str) -> tuple[Project, Sequence]:
    project = dash.project(slug)
    return project, service.get_sequence(dash.session, project.id, uuid_or_404(sequence_id))


def _editor(dash: Dash, project: Project, sequence: Sequence, status: int = 200,
            **context: Any) -> Response:
    stats = activity(dash.session, sequence)
    initial = {"graph": sequence.draft_graph, "trigger": sequence.trigger,
               "revision": sequence.draft_revision,
               "stats": {n["node_id"]: n for n in stats["nodes"]},
               "templates": [{"id": str(t.id), "name": t.name} for t in
                             templates.list_templates(dash.session, project.id, LISTED).items]}
    versions = service.list_versions(dash.session, sequence, PageParams(limit=20)).items
    return dash.page("dash/sequence.html", status, project=project, sequence=sequence,
                     initial=orjson.dumps(initial).decode(), activity=stats,
                     versions=versions, checks=service.validate(dash.session, sequence),
                     **context)


@router.get("/{sequence_id}")
def editor(slug: str, sequence_id: str, dash: DashDep) -> Response:
    return _editor(dash, *_get(dash, slug, sequence_id))


async def _json_body(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise Invalid("Malformed JSON body.") from None


async def _json_action(request: Request, slug: str, sequence_id: str,
                       work: Callable[[Dash, Project, Sequence, Any], Response]) -> Response:
    """An island's JSON call: the body parsed, the CSRF header checked, the
    sequence found in the caller's project; errors in the API's shape."""
    try:
        body = await _json_body(request)
    except LetterError as exc:
        return error_response(exc)

    def run() -> Response:
        try:
            dash = posted(request, request.headers.get(CSRF_HEADER, ""))
            project, sequence = _get(dash, slug, sequence_id)
            return work(dash, project, sequence, body if isinstance(body, dict) else {})
        except LetterError as exc:
            return error_response(exc)

    return await run_in_threadpool(run)


@router.post("/{sequence_id}/draft")
async def save_draft_json(request: Request, slug: str, sequence_id: str) -> Response:
    """The island's save: JSON in, ``{revision, errors}`` or the API's error out."""
    def work(dash: Dash, _project: Project, sequence: Sequence, body: Any) -> Response:
        draft = parse_form(DraftIn, body)
        saved = service.save_draft(dash.session, sequence, draft.graph, draft.trigger,
                                   draft.expected_revision)
        return JSONBytes({"revision": saved.draft_revision,
                          "errors": service.validate(dash.session, saved)})

    return await _json_action(request, slug, sequence_id, work)


def _recipient(dash: Dash, node: EmailNodeIn) -> str:
    return node.recipient_email or dash.user.email


@router.post("/{sequence_id}/preview")
async def preview_json(request: Request, slug: str, sequence_id: str) -> Response:
    """An email step rendered as edited (the API's preview): ``{html, text}``."""
    def work(dash: Dash, project: Project, sequence: Sequence, body: Any) -> Response:
        node = parse_form(EmailNodeIn, body)
        rendered = content.preview(dash.session, project, sequence, node.node_id, node.config,
                                   _recipient(dash, node))
        return JSONBytes(PreviewOut(html=rendered.html, text=rendered.text).model_dump())

    return await _json_action(request, slug, sequence_id, work)


@router.post("/{sequence_id}/test-email")
async def test_email_json(request: Request, slug: str, sequence_id: str) -> Response:
    """A ``[Test]`` copy of an email step as edited (the API's test-email):
    ``{message_id, to}``."""
    def work(dash: Dash, project: Project, sequence: Sequence, body: Any) -> Response:
        node = parse_form(EmailNodeIn, body)
        message = content.send_test(dash.session, project, sequence, node.node_id, node.config,
                                    _recipient(dash, node),
                                    runtime_of(request).settings.sending_domain)
        return JSONBytes(TestEmailOut(message_id=str(message.id), to=message.to_email)
                         .model_dump())

    return await _json_action(request, slug, sequence_id, work)


@router.post("/{sequence_id}/publish")
def publish(request: Request, slug: str, sequence_id: str, dash: PostDep) -> Response:
    project, sequence = _get(dash, slug, sequence_id)
    try:
        version = service.publish(dash.session, sequence, dash.user.id)
    except LetterError as exc:
        return _editor(dash, project, sequence, exc.status, error=exc.message)
    return redirect(request, f"/p/{project.slug}/sequences/{sequence.id}"
                             f"?published={version.version_number}")


@router.post("/{sequence_id}/status")
def set_status(request: Request, slug: str, sequence_id: str, dash: PostDep,
               form: FieldsDep) -> Response:
    project, sequence = _get(dash, slug, sequence_id)
    service.update_sequence(dash.session, sequence, None, form.get("status", ""))
    return redirect(request, f"/p/{project.slug}/sequences/{sequence.id}")
