"""The one exception type of the SDK."""

from __future__ import annotations

from typing import Any, Dict, Optional

__all__ = ["ItemRejected", "LetterError"]


class LetterError(Exception):
    """An error from the Letter SDK or the Letter API.

    ``body`` always has the API's error shape,
    ``{"error": {"code": ..., "message": ...}}``, whether the error came from the
    server or was detected by the SDK itself. ``status`` is the HTTP status of
    the response, or ``None`` when no response was involved (configuration
    errors, invalid arguments, a full queue, network failures)::

        try:
            Letter(api_key="oops")
        except LetterError as err:
            err.status  # None
            err.code    # "unauthorized"
            err.body    # {"error": {"code": "unauthorized", "message": "..."}}

    Errors that happen on the background thread are not raised; they are
    passed to the client's ``on_error(error, items)`` callback together with
    the items that were not delivered.
    """

    status: Optional[int]
    body: Dict[str, Any]

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        status: Optional[int] = None,
        body: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        if body is None:
            body = {"error": {"code": code, "message": message}}
        self.status = status
        self.body = body

    @property
    def code(self) -> str:
        """The error code, e.g. ``"rate_limited"``, ``"queue_full"``."""
        error = self.body.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            if isinstance(code, str):
                return code
        return "error"

    @property
    def message(self) -> str:
        """The human-readable message."""
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        where = "" if self.status is None else " (HTTP %d)" % self.status
        return "%s%s: %s" % (self.code, where, self.message)

    def __repr__(self) -> str:
        return "LetterError(code=%r, status=%r, message=%r)" % (
            self.code,
            self.status,
            self.message,
        )


class ItemRejected(LetterError):
    """The server accepted the batch but rejected one item of it.

    ``code`` and ``message`` are the item's own (``"bad_request"``,
    ``"payload_too_large"``…); ``status`` is ``None`` because the request did
    not fail: the batch's HTTP status is kept as context in ``batch_status``,
    and ``index`` is the item's position in that batch::

        def on_error(error, items):
            if isinstance(error, ItemRejected):
                log.warning("Letter rejected %s: %s", items[0], error.message)
    """

    batch_status: Optional[int]
    index: Optional[int]

    def __init__(
        self,
        message: str,
        *,
        code: str = "bad_request",
        batch_status: Optional[int] = None,
        index: Optional[int] = None,
    ) -> None:
        super().__init__(message, code=code)
        self.batch_status = batch_status
        self.index = index

    def __str__(self) -> str:
        return "%s (item %s of a batch): %s" % (self.code, self.index, self.message)

    def __repr__(self) -> str:
        return "ItemRejected(code=%r, index=%r, batch_status=%r, message=%r)" % (
            self.code,
            self.index,
            self.batch_status,
            self.message,
        )
