"""``/v1/me`` and ``/v1/tokens``: who am I, and my personal access tokens."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from letter.api.deps import PrincipalDep, SessionDep
from letter.api.pagination import PageDep
from letter.auth import service
from letter.auth.schemas import MeOut, TokenCreate, TokenCreated, TokenOut, UserOut, WorkspaceOut
from letter.schemas import Page, page_of

router = APIRouter(prefix="/v1", tags=["identity"])


@router.get("/me", response_model=MeOut)
def me(principal: PrincipalDep) -> MeOut:
    return MeOut(
        user=UserOut.model_validate(principal.user),
        workspace=WorkspaceOut.model_validate(principal.workspace),
        role=principal.role,
    )


@router.get("/tokens", response_model=Page[TokenOut])
def list_tokens(session: SessionDep, principal: PrincipalDep, page: PageDep) -> Page[TokenOut]:
    result = service.list_tokens(session, principal, page)
    return page_of(result, TokenOut.model_validate)


@router.post("/tokens", status_code=201, response_model=TokenCreated)
def create_token(body: TokenCreate, session: SessionDep, principal: PrincipalDep) -> TokenCreated:
    minted = service.mint_token(
        session,
        user_id=principal.user.id,
        workspace_id=principal.workspace_id,
        name=body.name,
        expires_at=body.expires_at,
    )
    t = minted.token
    return TokenCreated(
        id=t.id, name=t.name, prefix=t.prefix, token=minted.raw, expires_at=t.expires_at
    )


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Response:
    service.revoke_token(session, principal, token_id)
    return Response(status_code=204)
