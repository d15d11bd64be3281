"""Signed download links for import error reports and export files.

A link carries what it opens and until when, signed with the instance's
secret key: nobody can forge one for another file or stretch its life, and
no table of links is kept.

>>> links = DownloadLinks("secret", "https://letter.test")
>>> now = datetime(2026, 12, 1, tzinfo=UTC)
>>> url = links.url("export", uuid.UUID(int=1), expires_at=now + LINK_LIFETIME)
>>> links.read(url.rsplit("/", 1)[1], now)[0]
'export'
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from itsdangerous import BadData, URLSafeSerializer

from letter.errors import NotFound

__all__ = ["DOWNLOAD_PATH", "LINK_LIFETIME", "DownloadLinks"]

DOWNLOAD_PATH = "/v1/downloads/"
LINK_LIFETIME = timedelta(hours=1)
KINDS = ("import-errors", "export")


class DownloadLinks:
    def __init__(self, secret: str, public_url: str) -> None:
        self.public_url = public_url
        self._signer = URLSafeSerializer(secret, salt="letter.download")

    def url(self, kind: str, ident: uuid.UUID, *, expires_at: datetime) -> str:
        assert kind in KINDS
        token = self._signer.dumps([kind, ident.hex, int(expires_at.timestamp())])
        return f"{self.public_url}{DOWNLOAD_PATH}{token}"

    def read(self, token: str, now: datetime) -> tuple[str, uuid.UUID]:
        """``(kind, id)`` of a valid link; ``NotFound`` for a forged or expired one."""
        try:
            kind, hexid, until = self._signer.loads(token)
            ident = uuid.UUID(hex=hexid)
        except (BadData, ValueError, TypeError) as exc:
            raise NotFound("This download link is not valid.") from exc
        if kind not in KINDS or not isinstance(until, int):
            raise NotFound("This download link is not valid.")
        if datetime.fromtimestamp(until, UTC) <= now:
            raise NotFound("This download link has expired; ask for a new one.")
        return kind, ident
