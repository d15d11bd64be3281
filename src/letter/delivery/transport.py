"""Transports hand finished messages to the outside world.

The delivery engine depends only on :class:`Transport`; ``file`` is the
embedded default (one ``.eml`` per message), ``smtp`` talks to a relay over a
pool of connections kept open across batches.

>>> transport = FileTransport(Path("/tmp/outbox"))  # doctest: +SKIP
>>> transport.send([message])                         # doctest: +SKIP
[SendResult(ok=True, ...)]
"""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import ssl
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from letter.delivery.mime import OutgoingEmail

__all__ = [
    "FileTransport",
    "Outgoing",
    "SendResult",
    "SmtpConfig",
    "SmtpTransport",
    "Transport",
    "transport_from_settings",
    "wire_bytes",
]

Outgoing = EmailMessage | OutgoingEmail


@dataclass(frozen=True)
class SendResult:
    ok: bool
    permanent: bool = False
    detail: str = ""


class Transport(Protocol):
    def send(self, messages: Sequence[Outgoing]) -> list[SendResult]: ...


MAX_LINE_OCTETS = 998  # RFC 5321 4.5.3.1.6, without the CRLF
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def wire_bytes(message: Outgoing) -> bytes:
    """``message`` as SMTP carries it: CRLF line endings, no line over 998
    octets. Raises ValueError for a line that cannot be sent as is.

    >>> wire_bytes(OutgoingEmail("a@x.test", "b@x.test", b"Subject: x\n\nhi\n"))
    b'Subject: x\r\n\r\nhi\r\n'
    """
    if isinstance(message, OutgoingEmail):
        data = message.data
    else:
        data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    crlf = data.count(b"\r\n")
    if data.count(b"\n") != crlf or data.count(b"\r") != crlf:
        data = _LINE_BREAK.sub(b"\r\n", data)
    # Split, not a regex: [^\r\n]{999} rescans every line from each of its
    # offsets (a millisecond a message, more than the RSA signature costs).
    if len(data) > MAX_LINE_OCTETS and max(map(len, data.split(b"\r\n"))) > MAX_LINE_OCTETS:
        raise ValueError(f"a line of the message is over {MAX_LINE_OCTETS} octets")
    return data


def _raw(message: Outgoing) -> bytes:
    return message.data if isinstance(message, OutgoingEmail) else bytes(message)


class FileTransport:
    """Writes each message atomically as ``<outbox>/<uuid>.eml``."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    def send(self, messages: Sequence[Outgoing]) -> list[SendResult]:
        self.outbox.mkdir(parents=True, exist_ok=True)
        results = []
        for message in messages:
            name = uuid.uuid4().hex
            tmp = self.outbox / f".{name}.tmp"
            tmp.write_bytes(_raw(message))
            os.replace(tmp, self.outbox / f"{name}.eml")
            results.append(SendResult(ok=True, detail=f"{name}.eml"))
        return results


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool
    pool_size: int = 2
    verify_tls: bool = True

    @classmethod
    def parse(cls, url: str) -> SmtpConfig:
        """``smtp://user:pass@host:port?starttls=1&pool=4`` (``smtps://`` for implicit TLS;
        ``verify=0`` accepts self-signed certificates, for local relays only)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"LETTER_SMTP_URL must be smtp:// or smtps://, got {url!r}")
        query = parse_qs(parts.query)
        implicit = parts.scheme == "smtps"

        def flag(name: str, default: str) -> bool:
            return query.get(name, [default])[0] in ("1", "true", "yes")

        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (465 if implicit else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            starttls=flag("starttls", "0"),
            pool_size=max(1, min(16, int(query.get("pool", ["2"])[0]))),
            verify_tls=flag("verify", "1"),
        )

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


class SmtpTransport:
    """Sends over a pool of SMTP connections reused across batches.

    A batch is split across the pool's connections (one thread each, since the
    time goes in network round trips). A dropped connection is reopened once;
    5xx replies are permanent failures, anything else is transient.
    """

    def __init__(self, config: SmtpConfig, timeout: float = 30.0) -> None:
        self.config = config
        self.timeout = timeout
        self._idle: list[smtplib.SMTP] = []
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(config.pool_size, thread_name_prefix="letter-smtp")

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        client: smtplib.SMTP
        if c.implicit_tls:
            client = smtplib.SMTP_SSL(c.host, c.port, timeout=self.timeout,
                                      context=c.tls_context())
        else:
            client = smtplib.SMTP(c.host, c.port, timeout=self.timeout)
            if c.starttls:
                client.starttls(context=c.tls_context())
        client.ehlo_or_helo_if_needed()
        if c.username:
            client.login(c.username, c.password or "")
        return client

    def _checkout(self) -> smtplib.SMTP:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _checkin(self, client: smtplib.SMTP) -> None:
        with self._lock:
            self._idle.append(client)

    def send(self, messages: Sequence[Outgoing]) -> list[SendResult]:
        if not messages:
            return []
        n = min(self.config.pool_size, len(messages))
        size = -(-len(messages) // n)
        chunks = [list(messages[i : i + size]) for i in range(0, len(messages), size)]
        results: list[SendResult] = []
        for part in self._executor.map(self._send_chunk, chunks):
            results.extend(part)
        return results

    def _send_chunk(self, messages: list[Outgoing]) -> list[SendResult]:
        try:
            client = self._checkout()
        except (OSError, smtplib.SMTPException) as exc:
            return [SendResult(ok=False, detail=f"connect: {exc}") for _ in messages]
        results = []
        healthy = True
        for message in messages:
            if not healthy:
                try:
                    client = self._connect()
                    healthy = True
                except (OSError, smtplib.SMTPException) as exc:
                    results.append(SendResult(ok=False, detail=f"connect: {exc}"))
                    continue
            result, healthy = self._send_one(client, message)
            if not healthy and not result.ok and not result.permanent and _retryable(result):
                # The server dropped the connection (idle timeout): reopen and retry once.
                try:
                    client = self._connect()
                    result, healthy = self._send_one(client, message)
                except (OSError, smtplib.SMTPException) as exc:
                    result = SendResult(ok=False, detail=f"connect: {exc}")
            results.append(result)
        if healthy:
            self._checkin(client)
        else:
            _close(client)
        return results

    @staticmethod
    def _send_one(client: smtplib.SMTP, message: Outgoing) -> tuple[SendResult, bool]:
        if isinstance(message, OutgoingEmail):
            sender, recipients = message.sender, [message.recipient]
        else:
            sender = str(message["From"])
            recipients = [str(message["To"])]
        try:
            data = wire_bytes(message)
        except ValueError as exc:
            return SendResult(ok=False, permanent=True, detail=str(exc)), True
        try:
            code, reply = client.mail(sender)
            if code != 250:
                client.rset()
                return _failure(code, reply), True
            for rcpt in recipients:
                code, reply = client.rcpt(rcpt)
                if code not in (250, 251):
                    client.rset()
                    return _failure(code, reply), True
            code, reply = _data(client, data)
        except smtplib.SMTPServerDisconnected as exc:
            return SendResult(ok=False, detail=f"disconnected: {exc}"), False
        except smtplib.SMTPResponseException as exc:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.rset()
            return _failure(exc.smtp_code, exc.smtp_error), True
        except (OSError, smtplib.SMTPException) as exc:
            return SendResult(ok=False, detail=f"disconnected: {exc}"), False
        except ValueError as exc:  # an address smtplib refuses to put on the wire
            return SendResult(ok=False, permanent=True, detail=str(exc)), True
        if code != 250:
            return _failure(code, reply), True
        return SendResult(ok=True, detail=reply.decode(errors="replace")), True

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for client in idle:
            _close(client)


def _data(client: smtplib.SMTP, data: bytes) -> tuple[int, bytes]:
    """DATA with dot-stuffing done by ``bytes.replace``: ``data`` already has
    CRLF line endings (``wire_bytes``), so smtplib's regex pass is not needed."""
    client.putcmd("data")
    code, reply = client.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    body = data.replace(b"\r\n.", b"\r\n..")
    if body.startswith(b"."):
        body = b"." + body
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    client.send(body + b".\r\n")
    return client.getreply()


def _retryable(result: SendResult) -> bool:
    return result.detail.startswith("disconnected")


def _failure(code: int, reply: bytes | str) -> SendResult:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    return SendResult(ok=False, permanent=500 <= code < 600, detail=f"{code} {text}")


def _close(client: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        client.quit()
    with contextlib.suppress(OSError):
        client.close()


def transport_from_settings(kind: str, outbox: Path, smtp_url: str | None) -> Transport:
    if kind == "file":
        return FileTransport(outbox)
    if kind == "smtp":
        if not smtp_url:
            raise ValueError("LETTER_EMAIL_TRANSPORT=smtp needs LETTER_SMTP_URL")
        return SmtpTransport(SmtpConfig.parse(smtp_url))
    raise ValueError(f"LETTER_EMAIL_TRANSPORT must be file or smtp, got {kind!r}")
