"""Transports hand finished MIME messages to the outside world.

The delivery engine depends only on :class:`Transport`; ``file`` is the
embedded default (one ``.eml`` per message), ``smtp`` talks to a relay.

>>> transport = FileTransport(Path("/tmp/outbox"))  # doctest: +SKIP
>>> transport.send([message])                         # doctest: +SKIP
[SendResult(ok=True, ...)]
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["FileTransport", "SendResult", "SmtpTransport", "Transport", "transport_from_settings"]


@dataclass(frozen=True)
class SendResult:
    ok: bool
    permanent: bool = False
    detail: str = ""


class Transport(Protocol):
    def send(self, messages: list[EmailMessage]) -> list[SendResult]: ...


class FileTransport:
    """Writes each message atomically as ``<outbox>/<uuid>.eml``."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    def send(self, messages: list[EmailMessage]) -> list[SendResult]:
        self.outbox.mkdir(parents=True, exist_ok=True)
        results = []
        for message in messages:
            name = uuid.uuid4().hex
            tmp = self.outbox / f".{name}.tmp"
            tmp.write_bytes(bytes(message))
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

    @classmethod
    def parse(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"LETTER_SMTP_URL must be smtp:// or smtps://, got {url!r}")
        query = parse_qs(parts.query)
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (465 if implicit else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
        )


class SmtpTransport:
    """Sends over one SMTP connection per batch; 5xx replies are permanent."""

    def __init__(self, config: SmtpConfig, timeout: float = 30.0) -> None:
        self.config = config
        self.timeout = timeout

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        client: smtplib.SMTP
        if c.implicit_tls:
            client = smtplib.SMTP_SSL(
                c.host, c.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(c.host, c.port, timeout=self.timeout)
            if c.starttls:
                client.starttls(context=ssl.create_default_context())
        if c.username:
            client.login(c.username, c.password or "")
        return client

    def send(self, messages: list[EmailMessage]) -> list[SendResult]:
        try:
            client = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            return [SendResult(ok=False, detail=f"connect: {exc}") for _ in messages]
        results = []
        try:
            for message in messages:
                results.append(self._send_one(client, message))
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.quit()
        return results

    @staticmethod
    def _send_one(client: smtplib.SMTP, message: EmailMessage) -> SendResult:
        try:
            refused = client.send_message(message)
        except smtplib.SMTPResponseException as exc:
            return SendResult(
                ok=False,
                permanent=500 <= exc.smtp_code < 600,
                detail=f"{exc.smtp_code} {exc.smtp_error!r}",
            )
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return SendResult(
                ok=False, permanent=all(500 <= c < 600 for c in codes), detail=str(exc.recipients)
            )
        except (OSError, smtplib.SMTPException) as exc:
            return SendResult(ok=False, detail=str(exc))
        if refused:
            return SendResult(ok=False, permanent=True, detail=str(refused))
        return SendResult(ok=True)


def transport_from_settings(kind: str, outbox: Path, smtp_url: str | None) -> Transport:
    if kind == "file":
        return FileTransport(outbox)
    if kind == "smtp":
        if not smtp_url:
            raise ValueError("LETTER_EMAIL_TRANSPORT=smtp needs LETTER_SMTP_URL")
        return SmtpTransport(SmtpConfig.parse(smtp_url))
    raise ValueError(f"LETTER_EMAIL_TRANSPORT must be file or smtp, got {kind!r}")
