"""ASGI middleware every request passes through.

``BodyLimitMiddleware`` refuses bodies over the limit with 413 before any work.
``UnitOfWorkMiddleware`` gives each request one database session, commits it
*before* the response starts (so a client never sees a success that was not
stored), replays ``Idempotency-Key`` requests, and adds rate-limit headers.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from letter.errors import Conflict, Invalid, LetterError, PayloadTooLarge
from letter.idempotency import service as idempotency

__all__ = ["BodyLimitMiddleware", "UnitOfWorkMiddleware", "error_response_messages"]

log = logging.getLogger("letter.api")

IDEMPOTENT_METHODS = {"POST", "PUT"}


def error_response_messages(
    error: LetterError, headers: dict[str, str] | None = None
) -> list[Message]:
    body = orjson.dumps(error.body())
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return [
        {"type": "http.response.start", "status": error.status, "headers": raw_headers},
        {"type": "http.response.body", "body": body},
    ]


async def _send_error(
    send: Send, error: LetterError, headers: dict[str, str] | None = None
) -> None:
    for message in error_response_messages(error, headers):
        await send(message)


class BodyLimitMiddleware:
    """Caps request bodies; ``limit_for(path)`` gives the cap in bytes."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            await _send_error(send, Invalid("The URL must not contain NUL characters."))
            return
        limit = self.limit_for(scope["path"])
        error = PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.")
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_error(send, error, {"connection": "close"})
            return
        if declared is None and scope["method"] not in ("GET", "HEAD", "DELETE"):
            # A body without Content-Length is read here, so the limit holds
            # before any handler sees a byte of it.
            body = await _read_body(receive, limit)
            if body is None:
                await _send_error(send, error, {"connection": "close"})
                return
            receive = _replay_receive(body)
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _read_body(receive: Receive, limit: int | None = None) -> bytes | None:
    """The whole request body, or None once it grows past ``limit``."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay_receive(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class UnitOfWorkMiddleware:
    """A session per request, settled before the response goes out.

    At most ``max_sessions`` requests (the pool's size) hold a session at
    once; the others wait here, holding nothing. A request takes its
    connection on a worker thread and needs a thread again to commit and
    close: were every thread waiting for a connection, no holder could
    finish, and a burst larger than the pool would stall the process.
    """

    def __init__(self, app: ASGIApp, new_session: Callable[[], Session],
                 max_sessions: int | None = None) -> None:
        self.app = app
        self.new_session = new_session
        self.max_sessions = max_sessions
        self._slots: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.max_sessions is None:
            await self._serve(scope, receive, send)
            return
        if self._slots is None:
            self._slots = anyio.Semaphore(self.max_sessions)
        async with self._slots:
            await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = self.new_session()
        scope.setdefault("state", {})["session"] = session
        try:
            key = _header(scope, b"idempotency-key")
            if key is not None and scope["method"] in IDEMPOTENT_METHODS:
                await self._idempotent(scope, receive, send, session, key)
            else:
                await self.app(scope, receive, _CommittingSend(scope, send, session))
        finally:
            if session.in_transaction():
                await anyio.to_thread.run_sync(session.close)
            else:
                session.close()  # nothing to release: no I/O, no thread hop

    async def _idempotent(
        self, scope: Scope, receive: Receive, send: Send, session: Session, key: str
    ) -> None:
        if not key or len(key) > idempotency.MAX_KEY_LENGTH:
            await _send_error(send, Invalid("Idempotency-Key: must be 1-255 characters"))
            return
        credential = _header(scope, b"authorization") or ""
        token_scope = hashlib.sha256(credential.encode()).hexdigest()
        body = await _read_body(receive) or b""
        fingerprint = idempotency.request_fingerprint(
            scope["method"], scope["path"], scope.get("query_string", b"").decode(), body
        )
        stored = await anyio.to_thread.run_sync(idempotency.find, session, token_scope, key)
        if stored is not None:
            await _replay(send, stored, fingerprint)
            return
        capture = _CommittingSend(scope, send, session, remember=(token_scope, key, fingerprint))
        await self.app(scope, _replay_receive(body), capture)
        if capture.lost_race:
            await anyio.to_thread.run_sync(session.rollback)
            stored = await anyio.to_thread.run_sync(idempotency.find, session, token_scope, key)
            if stored is None:
                await _send_error(send, Conflict("A request with this Idempotency-Key failed."))
            else:
                await _replay(send, stored, fingerprint)


async def _replay(send: Send, stored: idempotency.StoredResponse, fingerprint: str) -> None:
    if stored.request_hash != fingerprint:
        await _send_error(
            send, Conflict("This Idempotency-Key was already used with a different request.")
        )
        return
    headers = [(k.encode(), v.encode()) for k, v in stored.headers.items()]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": stored.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})


class _CommittingSend:
    """Wraps ``send``: settles the transaction before the response goes out.

    With ``remember`` set, the whole response is buffered so a 2xx can be
    stored for replay in the same transaction as the work it describes.
    """

    def __init__(
        self,
        scope: Scope,
        send: Send,
        session: Session,
        remember: tuple[str, str, str] | None = None,
    ) -> None:
        self.scope = scope
        self.send = send
        self.session = session
        self.remember = remember
        self.start: Message | None = None
        self.chunks: list[bytes] = []
        self.lost_race = False
        self.replaced = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = _with_rate_headers(self.scope, message)
            if self.remember is None:
                await self._settle()
            return
        if self.replaced or self.lost_race:
            return
        if message["type"] != "http.response.body" or self.remember is None:
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            await self._settle()
            if not (self.replaced or self.lost_race):
                await self.send({"type": "http.response.body", "body": b"".join(self.chunks)})

    async def _settle(self) -> None:
        start = self.start
        assert start is not None
        if self.remember is None and not self.session.in_transaction():
            # The handler settled its own transaction (the ingestion hot path).
            await self.send(start)
            return
        if start["status"] >= 400:
            await anyio.to_thread.run_sync(self.session.rollback)
            await self.send(start)
            return
        try:
            await anyio.to_thread.run_sync(self._store_and_commit, start)
        except IntegrityError as exc:
            await anyio.to_thread.run_sync(self.session.rollback)
            if self.remember is not None:
                self.lost_race = True
                return
            log.info("commit conflict: %s", exc)
            self.replaced = True
            for m in error_response_messages(Conflict("The request conflicts with current data.")):
                await self.send(m)
            return
        await self.send(start)

    def _store_and_commit(self, start: Message) -> None:
        if self.remember is not None:
            self._store(start)
        self.session.commit()

    def _store(self, start: Message) -> None:
        assert self.remember is not None
        token_scope, key, fingerprint = self.remember
        headers = {
            k.decode(): v.decode()
            for k, v in start["headers"]
            if k.lower() in (b"content-type", b"location")
        }
        idempotency.remember(
            self.session,
            token_scope,
            key,
            idempotency.StoredResponse(
                fingerprint, start["status"], headers, b"".join(self.chunks)
            ),
        )


def _with_rate_headers(scope: Scope, message: Message) -> Message:
    stats: Any = scope.get("state", {}).get("rate_limit")
    if stats is None:
        return message
    headers = list(message.get("headers", []))
    headers += [
        (b"x-ratelimit-limit", str(stats.limit).encode()),
        (b"x-ratelimit-remaining", str(stats.remaining).encode()),
        (b"x-ratelimit-reset", str(stats.reset).encode()),
    ]
    return {**message, "headers": headers}
