"""Signed links inside emails: unsubscribe, open pixel, click redirect.

Tokens are itsdangerous signatures over the message (and contact, or URL), so
nobody can forge a link for another contact or point a redirect elsewhere.

>>> links = Links("secret", "https://letter.test")
>>> url = links.unsubscribe_url(mid, cid)                 # doctest: +SKIP
>>> links.read_unsubscribe(url.rsplit("/", 1)[1])       # doctest: +SKIP
UnsubscribeLink(message_id=UUID('…'), contact_id=UUID('…'), topic_id=None)
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from functools import lru_cache
from typing import NamedTuple

from itsdangerous import BadData, Signer, TimestampSigner

from letter.errors import NotFound

__all__ = ["Links", "UnsubscribeLink", "links_for"]

HREF = re.compile(r'href="(https?://[^"]+)"')
# How long a preference centre form may be posted after the page was shown.
FORM_MAX_AGE = 24 * 3600


class UnsubscribeLink(NamedTuple):
    message_id: uuid.UUID
    contact_id: uuid.UUID | None
    topic_id: uuid.UUID | None


class _Signer(Signer):
    """Derives its key once: itsdangerous derives it again for every signature,
    and every link of every email is signed."""

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        if secret_key is not None:
            return super().derive_key(secret_key)
        key: bytes | None = self.__dict__.get("_derived")
        if key is None:
            key = self.__dict__["_derived"] = super().derive_key()
        return key


class Links:
    def __init__(self, secret: str, public_url: str) -> None:
        self.public_url = public_url
        # Plain signed strings (no JSON, no compression): this runs for every link
        # of every email.
        self._unsub = _Signer(secret, salt="letter.unsubscribe", digest_method=hashlib.sha256)
        self._open = _Signer(secret, salt="letter.open", digest_method=hashlib.sha256)
        self._click = _Signer(secret, salt="letter.click", digest_method=hashlib.sha256)
        self._form = TimestampSigner(secret, salt="letter.preferences",
                                     digest_method=hashlib.sha256)

    def unsubscribe_url(self, message_id: uuid.UUID, contact_id: uuid.UUID | None,
                        topic_id: uuid.UUID | None = None) -> str:
        """The signed unsubscribe link; with ``topic_id`` (a topic broadcast)
        it leaves that topic only."""
        payload = message_id.hex + (contact_id.hex if contact_id else "")
        if contact_id and topic_id:
            payload += topic_id.hex
        return f"{self.public_url}/unsubscribe/{self._unsub.sign(payload).decode()}"

    def read_unsubscribe(self, token: str) -> UnsubscribeLink:
        payload = self._load(self._unsub, token)
        if len(payload) not in (32, 64, 96):
            raise NotFound("This link is not valid.")
        return UnsubscribeLink(_uuid(payload[:32]),
                               _uuid(payload[32:64]) if payload[32:64] else None,
                               _uuid(payload[64:]) if payload[64:] else None)

    def form_token(self, token: str) -> str:
        """The preference centre form's CSRF token: bound to the link's token
        and expiring after ``FORM_MAX_AGE``."""
        return self._form.sign(hashlib.sha256(token.encode()).hexdigest()).decode()

    def form_token_ok(self, token: str, form_token: str, max_age: int = FORM_MAX_AGE) -> bool:
        try:
            signed = self._form.unsign(form_token, max_age=max_age).decode()
        except (BadData, UnicodeDecodeError):
            return False
        return signed == hashlib.sha256(token.encode()).hexdigest()

    def open_url(self, message_id: uuid.UUID) -> str:
        return f"{self.public_url}/t/o/{self._open.sign(message_id.hex).decode()}.gif"

    def read_open(self, token: str) -> uuid.UUID:
        return _uuid(self._load(self._open, token.removesuffix(".gif")))

    def click_url(self, message_id: uuid.UUID, target: str) -> str:
        encoded = base64.urlsafe_b64encode(target.encode()).rstrip(b"=").decode()
        return f"{self.public_url}/t/c/{self._click.sign(message_id.hex + encoded).decode()}"

    def read_click(self, token: str) -> tuple[uuid.UUID, str]:
        payload = self._load(self._click, token)
        try:
            encoded = payload[32:]
            target = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (ValueError, UnicodeDecodeError) as exc:
            raise NotFound("This link is not valid.") from exc
        if not target.startswith(("http://", "https://")):
            raise NotFound("This link is not valid.")
        return _uuid(payload[:32]), target

    @staticmethod
    def _load(signer: Signer, token: str) -> str:
        try:
            return signer.unsign(token).decode()
        except (BadData, UnicodeDecodeError) as exc:
            raise NotFound("This link is not valid.") from exc

    def track(self, html: str, message_id: uuid.UUID) -> str:
        """Rewrite the message's links to the click redirect (Letter's own links,
        like unsubscribe, stay as they are) and add the open pixel."""

        def rewrite(match: re.Match[str]) -> str:
            target = match.group(1).replace("&amp;", "&")
            if target.startswith(self.public_url):
                return match.group(0)
            return f'href="{self.click_url(message_id, target)}"'

        html = HREF.sub(rewrite, html)
        pixel = (f'<img src="{self.open_url(message_id)}" width="1" height="1" alt="" '
                 'style="display:block;border:0;width:1px;height:1px">')
        at = html.rfind("</body>")
        return html[:at] + pixel + html[at:] if at >= 0 else html + pixel


@lru_cache(maxsize=8)
def links_for(secret: str, public_url: str) -> Links:
    return Links(secret, public_url)


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(hex=value)
    except ValueError as exc:
        raise NotFound("This link is not valid.") from exc
