"""``GET /invitations/accept``: the page an invitation email links to.

It holds no secret of its own: the form posts the token from the link to
``POST /v1/invitations/accept`` and shows the personal access token minted.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from letter.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/invitations/accept", response_class=HTMLResponse)
def accept_page(token: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    return render("accept_invitation.html", token=token, error=None)
