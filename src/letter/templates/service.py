"""Templates: the design that wraps every email body of a project."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from letter.templates.models import Template

__all__ = ["PRESETS", "create_default_template"]

PRESETS: dict[str, dict[str, Any]] = {
    "plain": {
        "preset": "plain",
        "colors": {"background": "#ffffff", "text": "#111111", "accent": "#111111"},
        "font": "system",
        "logo": None,
        "footer": {"text": "", "address": ""},
        "align": "left",
    },
    "branded": {
        "preset": "branded",
        "colors": {"background": "#f4f4f5", "text": "#18181b", "accent": "#4f46e5"},
        "font": "system",
        "logo": None,
        "footer": {"text": "", "address": ""},
        "align": "center",
    },
}


def create_default_template(session: Session, project_id: uuid.UUID) -> Template:
    template = Template(
        project_id=project_id, name="Default", is_default=True, design=dict(PRESETS["branded"])
    )
    session.add(template)
    session.flush()
    return template
