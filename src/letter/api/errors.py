"""Maps every failure to the one error shape: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from letter.db.outage import RETRY_AFTER_SECONDS, is_unavailable
from letter.errors import Invalid, LetterError, NotFound, ServiceUnavailable

__all__ = [
    "MALFORMED_JSON",
    "JSONBytes",
    "document_errors",
    "error_response",
    "install_error_handlers",
    "validation_message",
]

MALFORMED_JSON = "Malformed JSON body."
# What FastAPI raises when it cannot decode a body (too deep a nesting, for one).
_FASTAPI_PARSE_ERROR = "There was an error parsing the body"

log = logging.getLogger("letter.api")


class JSONBytes(Response):
    """A JSON response encoded with orjson (errors and hand-built hot paths)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(error: LetterError) -> JSONBytes:
    headers = {}
    if "retryAfter" in error.extra:
        headers["Retry-After"] = str(error.extra["retryAfter"])
    return JSONBytes(error.body(), status_code=error.status, headers=headers)


def _location(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def validation_message(exc: RequestValidationError) -> str:
    messages = []
    for err in exc.errors()[:5]:
        where = _location(tuple(err.get("loc", ())))
        kind = err.get("type", "")
        if kind == "json_invalid":
            messages.append(MALFORMED_JSON)
        elif kind == "extra_forbidden":
            messages.append(f"{where}: unknown field")
        elif kind == "missing":
            messages.append(f"{where}: field required")
        else:
            messages.append(f"{where}: {err.get('msg', 'invalid value')}")
    return "; ".join(messages) or "Invalid request."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LetterError)
    async def letter_error(_request: Request, exc: LetterError) -> JSONBytes:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONBytes:
        return error_response(Invalid(validation_message(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONBytes:
        if exc.status_code in (404, 405):
            return error_response(NotFound(f"No route {request.method} {request.url.path}."))
        detail = str(exc.detail)
        error = LetterError(MALFORMED_JSON if detail == _FASTAPI_PARSE_ERROR else detail)
        error.status = exc.status_code
        error.code = "bad_request" if exc.status_code < 500 else "internal_error"
        return error_response(error)

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> JSONBytes:
        # The database refused a value (out of range, bad encoding): the
        # request's fault, and nothing was stored.
        log.info("data error on %s %s: %s", request.method, request.url.path, exc.orig)
        return error_response(Invalid("A value in the request cannot be stored."))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONBytes:
        # Also what Starlette answers for an error raised in a middleware (the
        # unit of work's commit): a database outage is a 503 wherever it surfaces.
        if is_unavailable(exc):
            log.warning("database unavailable on %s %s: %s", request.method,
                        request.url.path, exc)
            return error_response(ServiceUnavailable(
                "The database is unavailable; retry shortly.",
                retryAfter=RETRY_AFTER_SECONDS))
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(LetterError("An unexpected error occurred; it has been logged."))


def document_errors(app: FastAPI) -> None:
    """Make the OpenAPI document say what is returned: a bad request is a 400
    with the error shape, never FastAPI's 422 ``HTTPValidationError``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        bad_request = {
            "description": "bad_request: malformed JSON or failed validation",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
            },
        }
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None:
                    responses.setdefault("400", bad_request)
        components = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
