"""The Ingestion API: ``/v1/identify``, ``/v1/track``, ``/v1/group``, ``/v1/batch``.

Authenticated by a project key (``Bearer lt_live_…`` or HTTP Basic with the
key as user name) and rate-limited per key. Bodies are decoded with orjson
and answered with orjson: this is the hot path.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from letter.api.deps import RuntimeDep, SessionDep
from letter.api.errors import JSONBytes
from letter.errors import Invalid
from letter.ingestion import service
from letter.ingestion.schemas import (
    BatchBody,
    BatchResultOut,
    GroupCall,
    IdentifyCall,
    TrackCall,
)
from letter.projects.models import Project

router = APIRouter(prefix="/v1", tags=["ingestion"])


def ingest_project(request: Request, session: SessionDep, runtime: RuntimeDep) -> Project:
    raw = service.credential_from_header(request.headers.get("authorization"))
    key, project = service.authenticate(session, raw)
    request.state.rate_limit = runtime.limiter.hit("ingest", str(key.id))
    return project


IngestProjectDep = Annotated[Project, Depends(ingest_project)]


def _documented(model: type[BaseModel]) -> dict[str, Any]:
    schema = {"application/json": {"schema": model.model_json_schema()}}
    return {"requestBody": {"required": True, "content": schema}}


def _decode(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Invalid("Malformed JSON body.") from exc


def _skip_query(request: Request) -> str | None:
    params = request.query_params
    return params.get("skip_triggers") or params.get("skipTriggers")


def _one(session: Any, project: Project, kind: str, body: bytes, skip: str | None) -> JSONBytes:
    result = service.ingest_one(session, project, kind, _decode(body), skip)
    return JSONBytes(result.as_json())


def _batch(session: Any, project: Project, body: bytes, skip: str | None) -> JSONBytes:
    result = service.ingest_batch(session, project, _decode(body), skip)
    return JSONBytes(result.as_json())


@router.post("/batch", response_model=BatchResultOut, openapi_extra=_documented(BatchBody))
async def batch(request: Request, project: IngestProjectDep, session: SessionDep) -> JSONBytes:
    """Up to 1,000 calls at once; each bad item is reported by index, the rest apply."""
    body = await request.body()
    return await run_in_threadpool(_batch, session, project, body, _skip_query(request))


@router.post("/identify", response_model=BatchResultOut, openapi_extra=_documented(IdentifyCall))
async def identify(request: Request, project: IngestProjectDep, session: SessionDep) -> JSONBytes:
    """Create or update a contact: deep-merges traits, sets email and timezone."""
    body = await request.body()
    return await run_in_threadpool(_one, session, project, "identify", body, _skip_query(request))


@router.post("/track", response_model=BatchResultOut, openapi_extra=_documented(TrackCall))
async def track(request: Request, project: IngestProjectDep, session: SessionDep) -> JSONBytes:
    """Record an event for a user (stored unlinked until the user is identified)."""
    body = await request.body()
    return await run_in_threadpool(_one, session, project, "track", body, _skip_query(request))


@router.post("/group", response_model=BatchResultOut, openapi_extra=_documented(GroupCall))
async def group(request: Request, project: IngestProjectDep, session: SessionDep) -> JSONBytes:
    """Create or update an account and link the user's contact if it exists."""
    body = await request.body()
    return await run_in_threadpool(_one, session, project, "group", body, _skip_query(request))
