"""The preference centre every unsubscribe link opens (``GET /unsubscribe/{token}``).

The page offers the link's own effect as one button (it posts to the same
URL as the RFC 8058 one-click POST: leave the broadcast's topic, or
everything for other mail) and the contact's public topics as checkboxes
with an "unsubscribe from everything" button. That form carries a CSRF token
bound to the link and expiring after a day. Opening the page changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from letter.audience import topics
from letter.delivery.links import Links, UnsubscribeLink, links_for
from letter.delivery.outcomes import message_contact, unsubscribe_message
from letter.errors import Invalid, NotFound
from letter.web.session import db_session, runtime_of
from letter.web.templating import render

router = APIRouter(include_in_schema=False)

EXPIRED = "This page was open too long to save: here it is again, with your current choices."


def _links(request: Request) -> Links:
    settings = runtime_of(request).settings
    return links_for(settings.secret_key or "", settings.public_url)


def _page(request: Request, token: str, link: UnsubscribeLink, *, notice: str | None = None,
          error: str | None = None, status_code: int = 200) -> HTMLResponse:
    session = db_session(request)
    context: dict[str, Any] = {
        "action": f"{runtime_of(request).settings.public_url}/unsubscribe/{token}",
        "notice": notice, "error": error, "link_topic": None, "topics": [],
        "form_token": None, "everything": False,
    }
    found = message_contact(session, link.message_id, link.contact_id)
    if found is not None:
        _, contact = found
        if link.topic_id is not None:
            named = [t for t in topics.contact_topics(session, contact.project_id, contact.id)
                     if t.id == link.topic_id]
            context["link_topic"] = named[0].name if named else None
        context["everything"] = contact.unsubscribed_at is not None
        context["topics"] = topics.contact_topics(session, contact.project_id, contact.id,
                                                  public_only=True)
        context["form_token"] = _links(request).form_token(token)
    return render("preferences.html", status_code, **context)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def preference_centre(token: str, request: Request) -> HTMLResponse:
    return _page(request, token, _links(request).read_unsubscribe(token))


@router.post("/unsubscribe/{token}/preferences", response_class=HTMLResponse)
def save_preferences(
    token: str,
    request: Request,
    form_token: Annotated[str, Form(max_length=200)] = "",
    action: Annotated[str, Form(max_length=20)] = "save",
    topic: Annotated[list[str] | None, Form(max_length=100)] = None,
) -> HTMLResponse:
    links = _links(request)
    link = links.read_unsubscribe(token)
    found = message_contact(db_session(request), link.message_id, link.contact_id)
    if found is None:
        raise NotFound("This link is not valid.")
    if not links.form_token_ok(token, form_token):
        return _page(request, token, link, error=EXPIRED, status_code=400)
    if action == "everything":
        unsubscribe_message(db_session(request), link.message_id, link.contact_id)
        return _page(request, token, link)
    if action != "save":
        raise Invalid("action: must be save or everything")
    try:
        chosen = {uuid.UUID(value) for value in topic or []}
    except ValueError as exc:
        raise Invalid("topic: must be topic ids") from exc
    _, contact = found
    topics.set_public_choices(db_session(request), contact.project_id, contact, chosen)
    return _page(request, token, link, notice="Your preferences are saved.")
