"""Projects (slug resolution, onboarding, rename, delete) and ingestion keys."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from letter.auth.security import KEY_PREFIX, mint_secret
from letter.clock import utcnow
from letter.db.pagination import PageParams, PageResult, paginate
from letter.errors import Invalid, NotFound
from letter.projects.keys import forget_keys_on_commit
from letter.projects.models import Project, ProjectKey
from letter.templates.service import create_default_template

__all__ = [
    "MintedKey",
    "create_key",
    "create_project",
    "delete_project",
    "get_project",
    "list_keys",
    "list_projects",
    "revoke_key",
    "update_project",
    "validate_timezone",
]

SLUG_MAX = 48


@dataclass(frozen=True)
class MintedKey:
    key: ProjectKey
    raw: str


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:SLUG_MAX].strip("-") or "project"


def validate_timezone(name: str) -> str:
    if name not in available_timezones() and name != "UTC":
        raise Invalid(f'timezone: "{name}" is not an IANA time zone name')
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f'timezone: "{name}" is not an IANA time zone name') from exc
    return name


def _free_value(session: Session, column: Any, base: str, *scope: Any) -> str:
    """The first of ``base``, ``base-2``, ``base-3``… not yet taken in ``scope``."""
    taken = set(
        session.scalars(select(column).where(*scope, (column == base) | column.like(f"{base}-%")))
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def list_projects(
    session: Session, workspace_id: uuid.UUID, page: PageParams
) -> PageResult[Project]:
    return paginate(
        session, select(Project).where(Project.workspace_id == workspace_id), Project, page
    )


def get_project(session: Session, workspace_id: uuid.UUID, slug: str) -> Project:
    """Resolve a slug inside one workspace; another tenant's slug is simply not found."""
    project = session.scalars(
        select(Project).where(Project.workspace_id == workspace_id, Project.slug == slug)
    ).one_or_none()
    if project is None:
        raise NotFound(f'No project "{slug}" in workspace.')
    return project


def create_project(
    session: Session, workspace_id: uuid.UUID, name: str, timezone: str | None
) -> Project:
    name = name.strip()
    if not name:
        raise Invalid("name: must not be empty")
    base = slugify(name)
    project = Project(
        workspace_id=workspace_id,
        name=name,
        slug=_free_value(session, Project.slug, base, Project.workspace_id == workspace_id),
        timezone=validate_timezone(timezone or "UTC"),
        assigned_subdomain=_free_value(session, Project.assigned_subdomain, base),
        from_name=name,
    )
    session.add(project)
    session.flush()
    create_default_template(session, project.id)
    return project


def update_project(
    session: Session, project: Project, name: str | None, timezone: str | None
) -> Project:
    if name is not None:
        name = name.strip()
        if not name:
            raise Invalid("name: must not be empty")
        if name != project.name:
            base = slugify(name)
            if base != project.slug:
                project.slug = _free_value(
                    session,
                    Project.slug,
                    base,
                    Project.workspace_id == project.workspace_id,
                    Project.id != project.id,
                )
            project.name = name
    if timezone is not None:
        project.timezone = validate_timezone(timezone)
    project.updated_at = utcnow()
    session.flush()
    return project


def delete_project(session: Session, project: Project) -> None:
    # Every project-scoped table cascades on project_id in the database itself.
    session.execute(delete(Project).where(Project.id == project.id))
    session.expunge(project)
    forget_keys_on_commit(session)


def list_keys(session: Session, project_id: uuid.UUID, page: PageParams) -> PageResult[ProjectKey]:
    stmt = select(ProjectKey).where(
        ProjectKey.project_id == project_id, ProjectKey.revoked_at.is_(None)
    )
    return paginate(session, stmt, ProjectKey, page)


def create_key(session: Session, project_id: uuid.UUID, name: str | None) -> MintedKey:
    raw, prefix, digest = mint_secret(KEY_PREFIX)
    key = ProjectKey(
        project_id=project_id,
        name=(name or "").strip() or "Default",
        prefix=prefix,
        key_hash=digest,
        scope="ingest",
    )
    session.add(key)
    session.flush()
    return MintedKey(key=key, raw=raw)


def revoke_key(session: Session, project_id: uuid.UUID, key_id: uuid.UUID) -> None:
    key = session.scalars(
        select(ProjectKey).where(
            ProjectKey.id == key_id,
            ProjectKey.project_id == project_id,
            ProjectKey.revoked_at.is_(None),
        )
    ).one_or_none()
    if key is None:
        raise NotFound(f"No key {key_id} in this project.")
    key.revoked_at = utcnow()
    forget_keys_on_commit(session)
