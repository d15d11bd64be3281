"""``GET /invitations/accept``: the page an invitation email links to.

It holds no secret of its own: the form posts the token from the link to
``POST /v1/invitations/accept`` and shows the personal access token minted.
"""

from __future__ import annotations

import html
from pathlib import Path
from string import Template
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

PAGE = Template((Path(__file__).parent / "pages" / "accept_invitation.html").read_text())


@router.get("/invitations/accept", response_class=HTMLResponse)
def accept_page(token: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    return HTMLResponse(
        PAGE.substitute(token=html.escape(token, quote=True)), headers={"Cache-Control": "no-store"}
    )
