"""The audience screens: contacts (search; segment, list, topic and status
filters; keyset pages; a total from cached counters; an export of what the
filters show), a contact's page (traits, account, events, messages,
suppress and resubscribe), accounts, the events stream and traits."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from letter.audience import service as audience
from letter.audience import topics
from letter.contacts import service
from letter.contacts.traits import summarise_traits
from letter.db.pagination import PageParams
from letter.delivery import service as delivery
from letter.errors import LetterError
from letter.segments import service as segments
from letter.segments.browse import Status, browse
from letter.web.context import Dash, DashDep, PageRoute, PostDep, redirect, uuid_or_404

router = APIRouter(prefix="/p/{slug}", include_in_schema=False, route_class=PageRoute)

PAGE = 50
# The traits page reads the newest contacts and accounts, not a million rows.
TRAITS_SAMPLE = 1_000
Cursor = Annotated[str, Query(max_length=200)]
Id = Annotated[str, Query(min_length=1, max_length=320)]
Choice = Annotated[str, Query(max_length=40)]
OPTIONS = PageParams(limit=100)


def _fragment(request: Request) -> bool:
    """An htmx request for the results only (not a boosted navigation)."""
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-boosted")


def filter_options(dash: Dash, project_id: Any) -> dict[str, Any]:
    """The segments, lists and topics a filter can choose from."""
    return {"segments": segments.list_segments(dash.session, project_id, OPTIONS).items,
            "lists": audience.list_lists(dash.session, project_id, OPTIONS).items,
            "topics": topics.list_topics(dash.session, project_id, OPTIONS).items,
            "statuses": list(Status)}


@router.get("/contacts")
def contacts(
    request: Request, slug: str, dash: DashDep, q: Annotated[str, Query(max_length=320)] = "",
    status: Annotated[str, Query(max_length=20)] = "", segment: Choice = "",
    in_list: Annotated[str, Query(alias="list", max_length=40)] = "", topic: Choice = "",
    cursor: Cursor = "",
) -> Response:
    project = dash.project(slug)
    filters = {"q": q, "status": status, "segment": segment, "list": in_list, "topic": topic}
    context: dict[str, Any] = {"project": project, "filters": filters,
                               **filter_options(dash, project.id)}
    try:
        found = browse(dash.session, project.id, PageParams(limit=PAGE, cursor=cursor or None),
                       segment_id=uuid_or_404(segment) if segment else None,
                       list_id=uuid_or_404(in_list) if in_list else None,
                       topic_id=uuid_or_404(topic) if topic else None,
                       status=status or None, search=q)
    except LetterError as exc:
        return dash.page("dash/contacts.html", exc.status, error=exc.message, found=None,
                         **context)
    name = "dash/_contacts_table.html" if _fragment(request) else "dash/contacts.html"
    return dash.page(name, found=found, **context)


@router.get("/contact")
def contact(slug: str, dash: DashDep, id: Id) -> Response:
    project = dash.project(slug)
    detail = service.contact_detail(dash.session, project.id, id)
    messages = delivery.list_messages(
        dash.session, project.id, PageParams(limit=20), contact_id=detail.contact.id,
        state=None, broadcast_id=None, sequence_id=None).items
    return dash.page("dash/contact.html", project=project, detail=detail, messages=messages,
                     key=id)


@router.post("/contact/suppress")
def suppress(request: Request, slug: str, dash: PostDep, id: Id) -> Response:
    project = dash.project(slug)
    service.suppress_contact(dash.session, project.id, id)
    return redirect(request, f"/p/{project.slug}/contact?{urlencode({'id': id})}")


@router.post("/contact/resubscribe")
def resubscribe(request: Request, slug: str, dash: PostDep, id: Id) -> Response:
    project = dash.project(slug)
    service.resubscribe_contact(dash.session, project.id, id)
    return redirect(request, f"/p/{project.slug}/contact?{urlencode({'id': id})}")


@router.get("/accounts")
def accounts(slug: str, dash: DashDep, cursor: Cursor = "") -> Response:
    project = dash.project(slug)
    page = service.list_accounts(dash.session, project.id,
                                 PageParams(limit=PAGE, cursor=cursor or None))
    return dash.page("dash/accounts.html", project=project, page=page)


@router.get("/account")
def account(slug: str, dash: DashDep, id: Id) -> Response:
    project = dash.project(slug)
    return dash.page("dash/account.html", project=project,
                     detail=service.account_detail(dash.session, project.id, id))


@router.get("/events")
def events(slug: str, dash: DashDep, cursor: Cursor = "",
           name: Annotated[str, Query(max_length=255)] = "") -> Response:
    project = dash.project(slug)
    page = service.list_events(dash.session, project.id,
                               PageParams(limit=PAGE, cursor=cursor or None), name or None)
    return dash.page("dash/events.html", project=project, page=page, event_name=name)


@router.get("/traits")
def traits(slug: str, dash: DashDep, cursor: Cursor = "") -> Response:
    project = dash.project(slug)
    page = summarise_traits(dash.session, project.id, PageParams(limit=100, cursor=cursor or None),
                            newest=TRAITS_SAMPLE)
    return dash.page("dash/traits.html", project=project, page=page, sample=TRAITS_SAMPLE)
