"""Request and response shapes of templates."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from letter.schemas import Instant, RequestModel, ResponseModel

__all__ = ["LogoOut", "TemplateCreate", "TemplateOut", "TemplateReset", "TemplateUpdate"]


class TemplateOut(ResponseModel):
    id: uuid.UUID
    name: str
    is_default: bool
    design: dict[str, Any]
    created_at: Instant
    updated_at: Instant


class TemplateCreate(RequestModel):
    name: str | None = Field(default=None, max_length=200)
    design: dict[str, Any] | None = None


class TemplateUpdate(RequestModel):
    name: str | None = Field(default=None, max_length=200)
    design: dict[str, Any] | None = None


class TemplateReset(RequestModel):
    preset: Literal["plain", "branded"]


class LogoOut(ResponseModel):
    url: str
