"""Types shared by every router's request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer

from letter.clock import iso

__all__ = ["Instant", "ListEnvelope", "Page", "RequestModel", "ResponseModel"]

T = TypeVar("T")

Instant = Annotated[datetime, PlainSerializer(iso, return_type=str)]


class RequestModel(BaseModel):
    """Bodies refuse unknown fields, so a typo is a 400 naming the field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
