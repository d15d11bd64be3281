"""Domain errors. Services raise these; only ``letter.api`` maps them to HTTP.

Each error has the spec's ``code`` and the HTTP ``status`` it maps to.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Conflict",
    "Forbidden",
    "Invalid",
    "LetterError",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServiceUnavailable",
    "Unauthorized",
]


class LetterError(Exception):
    code = "internal_error"
    status = 500

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


class Invalid(LetterError):
    code = "bad_request"
    status = 400


class Unauthorized(LetterError):
    code = "unauthorized"
    status = 401


class Forbidden(LetterError):
    code = "forbidden"
    status = 403


class NotFound(LetterError):
    code = "not_found"
    status = 404


class Conflict(LetterError):
    code = "conflict"
    status = 409


class PayloadTooLarge(LetterError):
    code = "payload_too_large"
    status = 413


class RateLimited(LetterError):
    code = "rate_limited"
    status = 429


class ServiceUnavailable(LetterError):
    """The database cannot be reached (a restart, a failover, a full pool):
    nothing was done, and the same request may be sent again after
    ``retryAfter`` seconds."""

    code = "service_unavailable"
    status = 503
