"""Signed links inside emails: unsubscribe, open pixel, click redirect.

Tokens are itsdangerous signatures over the message (and contact, or URL), so
nobody can forge a link for another contact or point a redirect elsewhere.

>>> links = Links("secret", "https://letter.test")
>>> url = links.unsubscribe_url(mid, cid)                 # doctest: +SKIP
>>> links.read_unsubscribe(url.rsplit("/", 1)[1])       # doctest: +SKIP
(UUID('…'), UUID('…'))
"""

from __future__ import annotations

import re
import uuid
from functools import lru_cache

from itsdangerous import BadData, URLSafeSerializer

from letter.errors import NotFound

__all__ = ["Links", "links_for"]

HREF = re.compile(r'href="(https?://[^"]+)"')


class Links:
    def __init__(self, secret: str, public_url: str) -> None:
        self.public_url = public_url
        self._unsub = URLSafeSerializer(secret, salt="letter.unsubscribe")
        self._open = URLSafeSerializer(secret, salt="letter.open")
        self._click = URLSafeSerializer(secret, salt="letter.click")

    def unsubscribe_url(self, message_id: uuid.UUID, contact_id: uuid.UUID | None) -> str:
        token = self._unsub.dumps([message_id.hex, contact_id.hex if contact_id else ""])
        return f"{self.public_url}/unsubscribe/{token}"

    def read_unsubscribe(self, token: str) -> tuple[uuid.UUID, uuid.UUID | None]:
        message, contact = self._load(self._unsub, token, 2)
        return uuid.UUID(message), uuid.UUID(contact) if contact else None

    def open_url(self, message_id: uuid.UUID) -> str:
        return f"{self.public_url}/t/o/{self._open.dumps([message_id.hex])}.gif"

    def read_open(self, token: str) -> uuid.UUID:
        (message,) = self._load(self._open, token.removesuffix(".gif"), 1)
        return uuid.UUID(message)

    def click_url(self, message_id: uuid.UUID, target: str) -> str:
        return f"{self.public_url}/t/c/{self._click.dumps([message_id.hex, target])}"

    def read_click(self, token: str) -> tuple[uuid.UUID, str]:
        message, target = self._load(self._click, token, 2)
        if not target.startswith(("http://", "https://")):
            raise NotFound("This link is not valid.")
        return uuid.UUID(message), target

    @staticmethod
    def _load(serializer: URLSafeSerializer, token: str, size: int) -> list[str]:
        try:
            value = serializer.loads(token)
            if not (isinstance(value, list) and len(value) == size
                    and all(isinstance(v, str) for v in value)):
                raise BadData("shape")
            if value[0]:
                uuid.UUID(value[0])
            return value
        except (BadData, ValueError) as exc:
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
