"""Types shared by request and response models across domains and routers
(a neutral module: domains import it, never `letter.api`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer, field_validator

from letter.clock import as_utc, iso
from letter.db.pagination import PageResult

__all__ = [
    "ERROR_RESPONSES",
    "SHOWN_ONCE",
    "ErrorBody",
    "Instant",
    "ListEnvelope",
    "Page",
    "RequestModel",
    "ResponseModel",
    "page_of",
]

T = TypeVar("T")

SHOWN_ONCE = (
    "The secret, shown once. null in an idempotent replay (Idempotent-Replayed: true):"
    " Letter never stores it."
)

# An instant without an offset means UTC, in every field of the API.
Instant = Annotated[datetime, AfterValidator(as_utc), PlainSerializer(iso, return_type=str)]


def _reject_nul(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key)
            _reject_nul(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_nul(item)
    return value


class RequestModel(BaseModel):
    """Bodies refuse unknown fields, so a typo is a 400 naming the field, and
    NUL characters, which no database column can store."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _reject_nul(value)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None


def page_of(result: PageResult[Any], convert: Callable[[Any], T]) -> Page[T]:
    """The API's list envelope for one page of a service's results.

    >>> page_of(PageResult([1, 2], "c"), str)
    Page(data=['1', '2'], next_cursor='c')
    """
    return Page(data=[convert(item) for item in result.items], next_cursor=result.next_cursor)


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]


class ErrorDetail(BaseModel):
    code: str
    message: str
    retryAfter: int | None = None


class ErrorBody(BaseModel):
    """Every error: ``{"error": {"code": "not_found", "message": "..."}}``."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "bad_request: malformed JSON or failed validation"),
        (401, "unauthorized: missing or invalid token"),
        (403, "forbidden: the token's role is too low"),
        (404, "not_found: unknown project, resource or route"),
        (409, "conflict: state conflict"),
        (413, "payload_too_large: body over the limit"),
        (429, "rate_limited: per-token limit exceeded (Retry-After set)"),
        (503, "service_unavailable: the database cannot be reached just now; nothing "
              "was done (Retry-After set)"),
    )
}
