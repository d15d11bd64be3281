"""The Jinja2 environment every page renders with.

Templates live in ``web/templates/``; each extends ``base.html`` so the pages
share one layout. Autoescaping is on for every template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

__all__ = ["environment", "render"]

TEMPLATES = Path(__file__).parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(name: str, status_code: int = 200, /, **context: Any) -> HTMLResponse:
    """A page that is never cached: pages show per-user state and CSRF tokens."""
    html = environment.get_template(name).render(**context)
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
        },
    )
