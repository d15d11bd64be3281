"""Delivery webhooks: provider payloads become outcomes on messages.

Providers and how they authenticate (the secret is ``LETTER_WEBHOOK_SECRET``,
see ``letter admin webhook-secret``):

- ``generic``: ``X-Letter-Signature: sha256=<hex HMAC-SHA256 of the raw body>``;
  body ``{"events": [{"type": "delivered"|"bounced"|"complained",
  "message_id": "<Letter message id or Message-ID header>",
  "bounce_type": "hard"|"soft", "detail": "…"}]}`` (or one such object).
- ``ses``: Amazon SES notifications through an SNS HTTPS subscription whose URL
  carries the secret as Basic-auth password (``https://letter:<secret>@host/v1/webhooks/ses``);
  the subscription confirmation is answered by fetching its ``SubscribeURL`` (only
  ``https://sns.<region>.amazonaws.com``).
- ``postmark``: Postmark webhooks with the same Basic-auth credentials; Letter
  tags every message with ``X-PM-Metadata-letter_message_id`` so Postmark echoes it.

>>> outcomes = parse("generic", body)   # doctest: +SKIP
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from letter.delivery.models import Message
from letter.delivery.outcomes import record_outcome
from letter.errors import Invalid, NotFound, Unauthorized

__all__ = ["Outcome", "apply", "authenticate", "parse"]

PROVIDERS = ("generic", "ses", "postmark")
HEADER_ID = re.compile(r"<?([0-9a-fA-F-]{36})@")
POSTMARK_HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated", "Blocked"}


@dataclass(frozen=True)
class Outcome:
    ref: str
    state: str
    bounce_type: str = "hard"
    detail: str | None = None


def authenticate(provider: str, body: bytes, headers: dict[str, str], secret: str) -> None:
    if provider not in PROVIDERS:
        raise NotFound(f'No webhook provider "{provider}"; use generic, ses or postmark.')
    if provider == "generic":
        given = headers.get("x-letter-signature", "").removeprefix("sha256=")
        wanted = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given.encode(), wanted.encode()):
            raise Unauthorized("Bad or missing X-Letter-Signature.")
        return
    auth = headers.get("authorization", "")
    try:
        scheme, _, encoded = auth.partition(" ")
        _user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        password, scheme = "", ""
    if scheme.lower() != "basic" or not hmac.compare_digest(password.encode(), secret.encode()):
        raise Unauthorized("Bad or missing Basic credentials for this webhook.")


def _json(raw: bytes | str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Invalid("body: not JSON") from exc


def _generic(payload: Any) -> list[Outcome]:
    items = payload.get("events", [payload]) if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise Invalid("events: must be a list")
    out = []
    for i, item in enumerate(items):
        kinds = ("delivered", "bounced", "complained")
        if not isinstance(item, dict) or item.get("type") not in kinds or not isinstance(
            item.get("message_id"), str
        ):
            raise Invalid(f"events[{i}]: needs type delivered|bounced|complained and message_id")
        bounce = item.get("bounce_type", "hard")
        out.append(Outcome(item["message_id"], item["type"],
                           "soft" if bounce == "soft" else "hard", _text(item.get("detail"))))
    return out


def _obj(value: Any) -> dict[str, Any]:
    """Provider payloads are untrusted: a field that should be an object and is
    not counts as empty."""
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:1000]


def _ses(payload: Any) -> list[Outcome]:
    if not isinstance(payload, dict):
        raise Invalid("body: not an SNS message")
    kind = payload.get("Type")
    if kind == "SubscriptionConfirmation":
        confirm_subscription(str(payload.get("SubscribeURL") or ""))
        return []
    if kind != "Notification":
        raise Invalid("body: Type must be Notification")
    raw = payload.get("Message")
    message = _json(raw) if isinstance(raw, str) else None
    if not isinstance(message, dict):
        raise Invalid("Message: not an SES notification")
    event = message.get("notificationType") or message.get("eventType")
    mail = _obj(message.get("mail"))
    ref = str(_obj(mail.get("commonHeaders")).get("messageId") or "")
    headers = mail.get("headers")
    for header in headers if isinstance(headers, list) else []:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "message-id":
            ref = str(header.get("value"))
    if event == "Delivery":
        return [Outcome(ref, "delivered")]
    if event == "Bounce":
        bounce = _obj(message.get("bounce"))
        hard = bounce.get("bounceType") == "Permanent"
        return [Outcome(ref, "bounced", "hard" if hard else "soft",
                        _text(bounce.get("bounceSubType")))]
    if event == "Complaint":
        complaint = _obj(message.get("complaint"))
        return [Outcome(ref, "complained", detail=_text(complaint.get("complaintFeedbackType")))]
    return []


SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")


def is_sns_url(url: str) -> bool:
    """Only Amazon SNS's own HTTPS endpoints are fetched (no open proxy)."""
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(SNS_HOST.match(parts.hostname or "")) and (
        parts.port in (None, 443))


def confirm_subscription(url: str) -> None:
    """Confirm an SNS subscription (already authenticated by the Basic credentials)."""
    if not is_sns_url(url):
        raise Invalid("SubscribeURL: not an Amazon SNS endpoint")
    try:
        response = httpx.get(url, timeout=10.0, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise Invalid(f"SubscribeURL: confirmation failed: {exc}") from exc
    if response.status_code != 200:
        raise Invalid(f"SubscribeURL: confirmation failed with HTTP {response.status_code}")


def _postmark(payload: Any) -> list[Outcome]:
    if not isinstance(payload, dict):
        raise Invalid("body: not a Postmark webhook")
    ref = str(_obj(payload.get("Metadata")).get("letter_message_id") or "")
    record = payload.get("RecordType")
    if record == "Delivery":
        return [Outcome(ref, "delivered")]
    if record == "Bounce":
        hard = payload.get("Type") in POSTMARK_HARD
        return [Outcome(ref, "bounced", "hard" if hard else "soft", _text(payload.get("Type")))]
    if record == "SpamComplaint":
        return [Outcome(ref, "complained", detail="SpamComplaint")]
    return []


def parse(provider: str, body: bytes) -> list[Outcome]:
    payload = _json(body)
    if provider == "generic":
        return _generic(payload)
    return _ses(payload) if provider == "ses" else _postmark(payload)


def _message_uuid(ref: str) -> uuid.UUID | None:
    match = HEADER_ID.search(ref)
    try:
        return uuid.UUID(match.group(1) if match else ref.strip())
    except ValueError:
        return None


def apply(session: Session, outcomes: list[Outcome]) -> tuple[int, int]:
    """Record each outcome on its message; unknown messages are ignored.
    Returns (applied, ignored)."""
    applied = ignored = 0
    for outcome in outcomes:
        mid = _message_uuid(outcome.ref)
        message = session.scalars(select(Message).where(Message.id == mid)).one_or_none() \
            if mid else None
        if message is None:
            ignored += 1
            continue
        record_outcome(session, message, outcome.state, detail=outcome.detail,
                       bounce_type=outcome.bounce_type)
        applied += 1
    return applied, ignored
