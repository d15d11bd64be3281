"""``create_app(settings) -> FastAPI``: the API, wired once.

>>> app = create_app(Settings.from_env())   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from letter import __version__
from letter.api import (
    audience,
    broadcasts,
    contacts,
    delivery_public,
    device,
    domains,
    downloads,
    exports,
    health,
    identity,
    imports,
    ingestion,
    lists,
    members,
    messages,
    projects,
    segments,
    sequences,
    templates,
    topics,
)
from letter.api.docs import install_docs
from letter.api.errors import document_errors, install_error_handlers
from letter.api.links import document_links
from letter.api.metrics import Metrics, MetricsMiddleware, metrics_router
from letter.api.middleware import BodyLimitMiddleware, UnitOfWorkMiddleware
from letter.runtime import Runtime
from letter.schemas import ERROR_RESPONSES
from letter.sequences import triggers as sequence_triggers
from letter.settings import Settings
from letter.web.routes import install as install_dashboard

__all__ = ["create_app"]

INGEST_PATHS = frozenset({"/v1/identify", "/v1/track", "/v1/group", "/v1/batch"})
UPLOAD_SUFFIXES = ("/imports", "/imports/preview", "/logo")


def body_limit_for(settings: Settings) -> Callable[[str], int]:
    def limit(path: str) -> int:
        if path in INGEST_PATHS:
            return settings.max_ingest_body_bytes
        if path.endswith(UPLOAD_SUFFIXES):
            return settings.max_upload_bytes
        return settings.max_body_bytes

    return limit


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or Runtime.build(settings or Settings.from_env())
    app = FastAPI(
        title="Letter",
        version=__version__,
        summary="Lifecycle email: ingestion and management APIs.",
        openapi_url="/v1/openapi.json",
        docs_url=None,  # served by letter.api.docs, without a CDN
        redoc_url=None,
    )
    app.state.runtime = runtime
    sequence_triggers.install()  # once per process: ingestion enrols through it
    install_error_handlers(app)
    document_errors(app)
    document_links(app)
    install_docs(app, "/v1/openapi.json")
    resources = (
        identity,
        device,
        members,
        projects,
        ingestion,
        imports,  # before contacts: /contacts/imports is not a contact id
        exports,
        contacts,
        audience,
        lists,
        topics,
        segments,
        sequences,
        templates,
        domains,
        messages,
        broadcasts,
    )
    for module in resources:
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.include_router(health.router)
    app.include_router(delivery_public.router)
    app.include_router(downloads.router, responses=ERROR_RESPONSES)
    metrics = Metrics()
    metrics.watch_single_calls(runtime.single_calls)
    app.include_router(metrics_router(metrics, runtime.settings.metrics_token))
    install_dashboard(app)
    # Innermost of Letter's middleware: it needs the unit of work's session.
    app.add_middleware(ingestion.IngestionFastPath, handlers=app.exception_handlers)
    app.add_middleware(UnitOfWorkMiddleware, new_session=runtime.db.new_session,
                       max_sessions=runtime.db.max_connections())
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit_for(runtime.settings))
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
