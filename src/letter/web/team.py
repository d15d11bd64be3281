"""The workspace's people and credentials: members and invitations (admins),
and each user's own API keys (personal access tokens, shown once)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from letter.auth import invitations
from letter.auth import service as auth_service
from letter.auth.access import Action
from letter.auth.schemas import InviteIn, TokenCreate
from letter.db.pagination import PageParams
from letter.delivery.system import OutboxMailer
from letter.errors import LetterError
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

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Text = Annotated[str, Form(max_length=1000)]
LISTED = PageParams(limit=100)


def _team(dash: Dash, status: int = 200, **context: Any) -> Response:
    dash.authorize(Action.MANAGE_TEAM)
    members = invitations.list_members(dash.session, dash.workspace.id, LISTED).items
    pending = invitations.list_invitations(dash.session, dash.workspace.id, LISTED).items
    context.setdefault("form", {})
    return dash.page("dash/team.html", status, members=members, pending=pending, **context)


@router.get("/team")
def team_page(dash: DashDep) -> Response:
    return _team(dash)


@router.post("/team/invitations")
def invite(request: Request, dash: PostDep, email: Text = "", role: Text = "member") -> Response:
    dash.authorize(Action.MANAGE_TEAM)
    try:
        body = parse_form(InviteIn, {"email": email, "role": role})
        mailer = OutboxMailer(dash.session, runtime_of(request).settings)
        invitations.create_invitation(dash.session, dash.principal, body.email, body.role,
                                      mailer)
    except LetterError as exc:
        return _team(dash, exc.status, form={"email": email, "role": role},
                     errors=field_errors(exc, ("email", "role")))
    return redirect(request, "/team?invited=1")


@router.post("/team/invitations/{invitation_id}/revoke")
def revoke_invitation(request: Request, invitation_id: str, dash: PostDep) -> Response:
    dash.authorize(Action.MANAGE_TEAM)
    invitations.revoke_invitation(dash.session, dash.workspace.id, uuid_or_404(invitation_id))
    return redirect(request, "/team")


@router.post("/team/members/{user_id}/remove")
def remove_member(request: Request, user_id: str, dash: PostDep) -> Response:
    dash.authorize(Action.MANAGE_TEAM)
    invitations.remove_member(dash.session, dash.principal, uuid_or_404(user_id))
    return redirect(request, "/team")


def _keys(dash: Dash, status: int = 200, **context: Any) -> Response:
    dash.authorize(Action.MANAGE_OWN_TOKENS)
    tokens = auth_service.list_tokens(dash.session, dash.principal, LISTED).items
    context.setdefault("form", {})
    return dash.page("dash/api_keys.html", status, tokens=tokens, **context)


@router.get("/api-keys")
def api_keys_page(dash: DashDep) -> Response:
    return _keys(dash)


@router.post("/api-keys")
def mint_api_key(dash: PostDep, name: Text = "", expires_at: Text = "") -> Response:
    dash.authorize(Action.MANAGE_OWN_TOKENS)
    form = {"name": name, "expires_at": expires_at}
    try:
        body = parse_form(TokenCreate, {"name": name, "expires_at": expires_at or None})
        minted = auth_service.mint_token(dash.session, user_id=dash.user.id,
                                         workspace_id=dash.workspace.id, name=body.name,
                                         expires_at=body.expires_at)
    except LetterError as exc:
        return _keys(dash, exc.status, form=form,
                     errors=field_errors(exc, ("name", "expires_at")))
    return _keys(dash, 201, minted=minted)


@router.post("/api-keys/{token_id}/revoke")
def revoke_api_key(request: Request, token_id: str, dash: PostDep) -> Response:
    auth_service.revoke_token(dash.session, dash.principal, uuid_or_404(token_id))
    return redirect(request, "/api-keys")
