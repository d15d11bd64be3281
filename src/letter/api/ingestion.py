"""The Ingestion API: ``/v1/identify``, ``/v1/track``, ``/v1/group``, ``/v1/batch``.

Authenticated by a project key (``Bearer lt_live_…`` or HTTP Basic with the
key as user name) and rate-limited per key. Bodies are decoded with orjson
and answered with orjson: this is the hot path.

The routes are declared here for the OpenAPI document and as a fallback;
``IngestionFastPath`` answers them in front of the router (inside Letter's own
middleware: body limit, metrics, unit of work), with the app's exception
handlers, since routing and per-route machinery cost as much as the handler's
share of the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette._utils import is_async_callable
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from letter.api.deps import count_request
from letter.api.errors import MALFORMED_JSON, JSONBytes
from letter.errors import Invalid
from letter.ingestion import service
from letter.ingestion.parse import decode_body
from letter.ingestion.schemas import (
    BatchBody,
    BatchResultOut,
    GroupCall,
    IdentifyCall,
    TrackCall,
)
from letter.projects.keys import ActiveKey
from letter.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["ingestion"])

IDEMPOTENCY_HEADER = "idempotency-key"


def _authenticated(request: Request, session: Session, runtime: Runtime) -> ActiveKey:
    raw = service.credential_from_header(request.headers.get("authorization"))
    key = service.authenticate(session, raw)
    if session.in_transaction():
        # The key was looked up, not remembered: end that read at once, so on
        # SQLite the write lock is not held while the body is parsed.
        session.rollback()
    count_request(request, runtime.limiter, "ingest", str(key.key_id))
    return key


def _documented(model: type[BaseModel]) -> dict[str, Any]:
    schema = {"application/json": {"schema": model.model_json_schema()}}
    return {"requestBody": {"required": True, "content": schema}}


def _decode(body: bytes) -> Any:
    try:
        return decode_body(body)
    except (ValueError, RecursionError) as exc:
        raise Invalid(MALFORMED_JSON) from exc


def _handle(request: Request, session: Session, runtime: Runtime, kind: str, body: bytes
            ) -> JSONBytes:
    """Authenticate, validate, apply and commit: one worker-thread hop for the
    whole call, and the database (on SQLite, its write lock) is held only
    while the validated items are applied and committed."""
    key = _authenticated(request, session, runtime)
    params = request.query_params
    skip = params.get("skip_triggers") or params.get("skipTriggers")
    if kind == "batch":
        result = service.ingest_batch(session, key.project, _decode(body), skip)
    elif IDEMPOTENCY_HEADER not in request.headers:
        # Shares a transaction with the calls that arrive while one commits.
        result = runtime.single_calls.ingest(session, key, kind, _decode(body), skip)
        return JSONBytes(result.as_json())
    else:
        result = service.ingest_one(session, key.project, kind, _decode(body), skip)
    service.record_use(session, key)
    if IDEMPOTENCY_HEADER not in request.headers:
        # Committed here rather than by the middleware, which would take
        # another thread hop with the write lock held. With an
        # Idempotency-Key the middleware stores the answer in the same
        # transaction, so it commits.
        service.commit(session)
    return JSONBytes(result.as_json())


async def _serve(request: Request, kind: str) -> JSONBytes:
    # The session and runtime are read here rather than through dependencies:
    # FastAPI runs sync dependencies on worker threads, two extra hops a call.
    session: Session = request.state.session
    runtime: Runtime = request.app.state.runtime
    body = await request.body()
    return await run_in_threadpool(_handle, request, session, runtime, kind, body)


@router.post("/batch", response_model=BatchResultOut, openapi_extra=_documented(BatchBody))
async def batch(request: Request) -> JSONBytes:
    """Up to 1,000 calls at once; each bad item is reported by index, the rest apply."""
    return await _serve(request, "batch")


@router.post("/identify", response_model=BatchResultOut, openapi_extra=_documented(IdentifyCall))
async def identify(request: Request) -> JSONBytes:
    """Create or update a contact: deep-merges traits, sets email and timezone."""
    return await _serve(request, "identify")


@router.post("/track", response_model=BatchResultOut, openapi_extra=_documented(TrackCall))
async def track(request: Request) -> JSONBytes:
    """Record an event for a user (stored unlinked until the user is identified)."""
    return await _serve(request, "track")


@router.post("/group", response_model=BatchResultOut, openapi_extra=_documented(GroupCall))
async def group(request: Request) -> JSONBytes:
    """Create or update an account and link the user's contact if it exists."""
    return await _serve(request, "group")


KINDS_BY_PATH = {
    "/v1/batch": "batch", "/v1/identify": "identify", "/v1/track": "track", "/v1/group": "group"
}


class IngestionFastPath:
    """Answers ``POST`` to the ingestion paths without the router: the same
    handler, the same exception handlers (those for ``Exception`` stay with
    the server-error middleware, as in the app), ``scope["route"]`` set so
    metrics label the route. Anything else goes on to the app."""

    def __init__(self, app: ASGIApp, handlers: Mapping[Any, Any]) -> None:
        self.app = app
        self.handlers = {k: v for k, v in handlers.items() if k not in (500, Exception)}
        self.routes: dict[str, BaseRoute] = {
            path: route for route in router.routes
            if (path := getattr(route, "path", None)) in KINDS_BY_PATH
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = KINDS_BY_PATH.get(scope["path"]) if scope["type"] == "http" else None
        if kind is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope["route"] = self.routes.get(scope["path"])
        request = Request(scope, receive)
        try:
            response = await _serve(request, kind)
        except Exception as exc:
            handler = next(
                (self.handlers[c] for c in type(exc).__mro__ if c in self.handlers), None
            )
            if handler is None:
                raise
            if is_async_callable(handler):
                response = await handler(request, exc)
            else:
                response = await run_in_threadpool(handler, request, exc)
            exc.__traceback__ = None
        await response(scope, receive, send)
