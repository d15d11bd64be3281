"""Templates: the design that wraps every email body of a project.

>>> t = create_template(session, project.id, name="Promo", design={"preset": "plain"})
... # doctest: +SKIP
>>> set_default(session, t)  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from letter.clock import utcnow
from letter.db.pagination import PageParams, PageResult, paginate
from letter.errors import Conflict, Invalid, NotFound, PayloadTooLarge
from letter.templates.design import PRESETS, normalise_design
from letter.templates.models import Template

__all__ = [
    "LOGO_MAX_BYTES",
    "PRESETS",
    "create_default_template",
    "create_template",
    "default_template",
    "delete_template",
    "get_template",
    "list_templates",
    "logo_kind",
    "remove_logo",
    "reset_template",
    "set_default",
    "store_logo",
    "update_template",
]

LOGO_MAX_BYTES = 1_000_000
MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"), (b"GIF87a", "gif"),
         (b"GIF89a", "gif"))


def create_default_template(session: Session, project_id: uuid.UUID) -> Template:
    template = Template(
        project_id=project_id, name="Default", is_default=True,
        design=copy.deepcopy(PRESETS["branded"]),
    )
    session.add(template)
    session.flush()
    return template


def list_templates(
    session: Session, project_id: uuid.UUID, page: PageParams
) -> PageResult[Template]:
    stmt = select(Template).where(Template.project_id == project_id)
    return paginate(session, stmt, Template, page)


def get_template(session: Session, project_id: uuid.UUID, template_id: uuid.UUID) -> Template:
    template = session.scalars(
        select(Template).where(Template.project_id == project_id, Template.id == template_id)
    ).one_or_none()
    if template is None:
        raise NotFound(f"No template {template_id} in this project.")
    return template


def default_template(session: Session, project_id: uuid.UUID) -> Template | None:
    return session.scalars(
        select(Template).where(Template.project_id == project_id, Template.is_default.is_(True))
        .limit(1)
    ).one_or_none()


def create_template(
    session: Session, project_id: uuid.UUID, *, name: str | None, design: dict[str, Any] | None
) -> Template:
    template = Template(
        project_id=project_id,
        name=(name or "").strip() or "Untitled template",
        is_default=False,
        design=normalise_design(design or {"preset": "branded"}),
    )
    session.add(template)
    session.flush()
    return template


def update_template(
    session: Session, template: Template, *, name: str | None, design: dict[str, Any] | None
) -> Template:
    if name is not None:
        if not name.strip():
            raise Invalid("name: must not be empty")
        template.name = name.strip()
    if design is not None:
        # A PATCH merges into the current design; a new preset starts from that preset.
        base = None if design.get("preset", template.design.get("preset")) != template.design.get(
            "preset") else template.design
        template.design = normalise_design(design, base)
    template.updated_at = utcnow()
    session.flush()
    return template


def delete_template(session: Session, template: Template) -> None:
    if template.is_default:
        raise Conflict(
            "The default template cannot be deleted; make another one the default first."
        )
    session.delete(template)
    session.flush()


def set_default(session: Session, template: Template) -> None:
    session.execute(
        update(Template).where(Template.project_id == template.project_id,
                               Template.id != template.id).values(is_default=False)
    )
    template.is_default = True
    template.updated_at = utcnow()
    session.flush()


def reset_template(session: Session, template: Template, preset: str) -> Template:
    if preset not in PRESETS:
        raise Invalid('preset: must be "plain" or "branded"')
    design = copy.deepcopy(PRESETS[preset])
    design["logo"] = template.design.get("logo")  # a reset keeps the uploaded logo
    design["footer"] = template.design.get("footer") or design["footer"]
    template.design = normalise_design(design)
    template.updated_at = utcnow()
    session.flush()
    return template


def logo_kind(data: bytes) -> str:
    """``png``/``jpg``/``gif`` judged by the file's content, never its name."""
    for magic, kind in MAGIC:
        if data.startswith(magic):
            return kind
    raise Invalid("file: the logo must be a PNG, JPEG or GIF image")


def store_logo(
    session: Session, template: Template, data: bytes, uploads: Path, public_url: str
) -> str:
    """Keep the image under ``uploads/logos`` and point the design at it; returns its URL."""
    if len(data) > LOGO_MAX_BYTES:
        raise PayloadTooLarge("file: the logo must be at most 1 MB")
    if not data:
        raise Invalid("file: empty upload")
    kind = logo_kind(data)
    name = f"{hashlib.sha256(data).hexdigest()[:32]}.{kind}"
    folder = uploads / "logos"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    url = f"{public_url}/assets/logos/{name}"
    design = copy.deepcopy(template.design)
    previous = design.get("logo") or {}
    design["logo"] = {"url": url, "width": previous.get("width", 120),
                      "alt": previous.get("alt", "")}
    template.design = normalise_design(design)
    template.updated_at = utcnow()
    session.flush()
    return url


def remove_logo(session: Session, template: Template) -> None:
    design = copy.deepcopy(template.design)
    design["logo"] = None
    template.design = normalise_design(design)
    template.updated_at = utcnow()
    session.flush()
