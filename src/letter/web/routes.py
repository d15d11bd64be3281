"""Every dashboard page, mounted on the app in one call.

>>> install(app)   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from letter.web import (
    broadcasts,
    contacts,
    device,
    exports,
    home,
    imports,
    invitations,
    preferences,
    projects,
    segments,
    sending,
    sequences,
    signin,
    team,
)

__all__ = ["STATIC", "install"]

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    for module in (invitations, signin, device, preferences, home, projects, team, contacts,
                   imports, exports, segments, sequences, broadcasts, sending):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
