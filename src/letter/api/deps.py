"""Request dependencies: the session, the caller, their role, the project."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from letter.auth import service as auth_service
from letter.auth.access import Action, authorize
from letter.auth.service import Principal
from letter.errors import Unauthorized
from letter.projects import service as project_service
from letter.projects.models import Project
from letter.ratelimit import RateLimited, RateLimiter
from letter.runtime import Runtime

__all__ = [
    "PrincipalDep",
    "ProjectDep",
    "RuntimeDep",
    "SessionDep",
    "count_request",
    "get_session",
    "may",
    "project_for",
]

bearer = HTTPBearer(auto_error=False, description="A personal access token: lt_pat_<48 hex>")


def get_session(request: Request) -> Session:
    session: Session = request.state.session
    return session


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


SessionDep = Annotated[Session, Depends(get_session)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_principal(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send a personal access token as 'Authorization: Bearer lt_pat_…'.")
    principal = auth_service.authenticate(session, credentials.credentials)
    count_request(request, runtime.limiter, "pat", str(principal.token_id))
    return principal


def count_request(request: Request, limiter: RateLimiter, kind: str, identity: str) -> None:
    """Count one request against ``identity``'s limit; the stats feed the
    X-RateLimit-* headers, on the 429 too."""
    try:
        request.state.rate_limit = limiter.hit(kind, identity)
    except RateLimited as exc:
        request.state.rate_limit = exc.stats
        raise


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def may(action: Action) -> Callable[[Principal], Principal]:
    """A dependency: the caller, if their role allows ``action`` (auth.access)."""

    def check(principal: PrincipalDep) -> Principal:
        authorize(principal.role, action)
        return principal

    return check


def project_for(action: Action) -> Callable[..., Project]:
    """The ``{slug}`` project of the caller's workspace, for a caller allowed
    ``action`` (another workspace's project is a 404, never a 403)."""

    checked = Depends(may(action))  # a default, not an annotation: it is a closure

    def get(
        session: SessionDep,
        slug: Annotated[str, Path(max_length=64)],
        principal: Principal = checked,
    ) -> Project:
        return project_service.get_project(session, principal.workspace_id, slug)

    return get


ProjectDep = Annotated[Project, Depends(project_for(Action.USE_PROJECT))]
