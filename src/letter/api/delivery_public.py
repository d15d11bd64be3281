"""Public delivery endpoints (no token, no per-token rate limit): the
unsubscribe one-click POST, open pixel, click redirect, provider
webhooks, and template logos. Garbage in gives an error in the usual shape."""

from __future__ import annotations

import base64
import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from letter.api.deps import RuntimeDep, SessionDep
from letter.clock import utcnow
from letter.delivery import webhooks
from letter.delivery.links import Links, links_for
from letter.delivery.models import Message
from letter.delivery.outcomes import leave_topic, record_outcome, unsubscribe_message
from letter.errors import NotFound
from letter.runtime import Runtime
from letter.schemas import ERROR_RESPONSES

# What these routes can answer besides success: a bad body, a webhook's bad
# credentials, an invalid link or unknown provider, an oversized body.
# Spelled out as JSON: FastAPI would give them the HTML pages' media type.
PUBLIC_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": ERROR_RESPONSES[status]["description"], "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    for status in (400, 401, 404, 413)
}
router = APIRouter(tags=["delivery"], include_in_schema=True, responses=PUBLIC_ERRORS)

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
LOGO_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|gif)$")
MEDIA = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif"}
PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>{title}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem">
{body}</body></html>"""


def _links(runtime: Runtime) -> Links:
    return links_for(runtime.settings.secret_key or "", runtime.settings.public_url)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(token: str, session: SessionDep, runtime: RuntimeDep) -> HTMLResponse:
    """Both the RFC 8058 one-click POST (``List-Unsubscribe=One-Click``) and the
    preference centre's first button land here; either acts at once: a topic
    broadcast's link leaves that topic, any other link unsubscribes from
    everything. (The page itself is ``letter.web.preferences``.)"""
    link = _links(runtime).read_unsubscribe(token)
    if link.topic_id is not None:
        if leave_topic(session, link.message_id, link.contact_id, link.topic_id) is None:
            raise NotFound("This link is not valid.")
        body = "<h1>You are unsubscribed</h1><p>You will not get emails on this topic any more.</p>"
        return HTMLResponse(PAGE.format(title="Unsubscribed", body=body))
    if unsubscribe_message(session, link.message_id, link.contact_id) is None:
        raise NotFound("This link is not valid.")
    body = "<h1>You are unsubscribed</h1><p>You will not get these emails any more.</p>"
    return HTMLResponse(PAGE.format(title="Unsubscribed", body=body))


def _message(session: SessionDep, message_id: object) -> Message:
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound("This link is not valid.")
    return message


@router.get("/t/o/{token}", response_class=Response,
            responses={200: {"content": {"image/gif": {}}, "description": "A 1x1 GIF."}})
def open_pixel(token: str, session: SessionDep, runtime: RuntimeDep) -> Response:
    message = _message(session, _links(runtime).read_open(token))
    record_outcome(session, message, "opened", now=utcnow())
    return Response(PIXEL, media_type="image/gif",
                    headers={"Cache-Control": "no-store, max-age=0"})


@router.get("/t/c/{token}", response_class=RedirectResponse, status_code=302,
            responses={302: {"description": "To the link's target."}})
def click(token: str, session: SessionDep, runtime: RuntimeDep) -> Response:
    message_id, target = _links(runtime).read_click(token)
    record_outcome(session, _message(session, message_id), "clicked", now=utcnow(), url=target)
    return RedirectResponse(target, status_code=302)


@router.post("/v1/webhooks/{provider}")
async def webhook(provider: str, request: Request, runtime: RuntimeDep) -> dict[str, int]:
    body = await request.body()
    secret = runtime.settings.delivery_webhook_secret
    webhooks.authenticate(provider, body, {k.lower(): v for k, v in request.headers.items()},
                          secret)
    outcomes = webhooks.parse(provider, body)
    session = request.state.session
    applied, ignored = webhooks.apply(session, outcomes)
    return {"applied": applied, "ignored": ignored}


@router.get("/assets/logos/{name}", response_class=FileResponse, responses={
    200: {"content": {media: {} for media in MEDIA.values()}, "description": "The image."}})
def logo(name: str, runtime: RuntimeDep) -> FileResponse:
    path = runtime.settings.uploads_dir / "logos" / name
    if not LOGO_NAME.match(name) or not path.is_file():
        raise NotFound("No such image.")
    return FileResponse(path, media_type=MEDIA[name.rsplit(".", 1)[1]],
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})
