"""``letter projects``: the workspace's projects."""

from __future__ import annotations

from typing import Annotated

import typer

from letter.cli.common import (
    AllOpt,
    JsonOpt,
    LimitOpt,
    YesOpt,
    confirm,
    create,
    delete,
    get,
    group,
    list_cmd,
    seg,
    update,
)

NAME = "projects"
app = group("Projects in your workspace.")
COLUMNS = [("SLUG", "slug"), ("NAME", "name"), ("TIMEZONE", "timezone"),
           ("SENDING", "sending_mode"), ("FROM", "from_email"), ("CREATED", "created_at")]
Slug = Annotated[str, typer.Argument(help="Project slug.")]


@app.command("list")
def list_(as_json: JsonOpt = False, limit: LimitOpt = 50, all_: AllOpt = False) -> None:
    """List projects."""
    list_cmd("/v1/projects", COLUMNS, as_json, limit, all_)


@app.command("get")
def get_(slug: Slug, as_json: JsonOpt = False) -> None:
    """Show one project."""
    get(f"/v1/projects/{seg(slug)}", as_json)


@app.command("create")
def create_(
    name: Annotated[str, typer.Option(help="Project name (its slug is derived from it).")],
    timezone: Annotated[str | None, typer.Option(help="IANA time zone (default UTC).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a project (admin)."""
    create("/v1/projects", {"name": name, "timezone": timezone}, as_json)


@app.command("update")
def update_(
    slug: Slug,
    name: Annotated[str | None, typer.Option(help="New name (changes the slug).")] = None,
    timezone: Annotated[str | None, typer.Option(help="New IANA time zone.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rename a project or change its time zone."""
    update(f"/v1/projects/{seg(slug)}", {"name": name, "timezone": timezone}, as_json)


@app.command("delete")
def delete_(slug: Slug, yes: YesOpt = False) -> None:
    """Delete a project and everything in it (admin)."""
    confirm(f"delete project {slug} and all its data", yes)
    delete(f"/v1/projects/{seg(slug)}", f"Deleted project {slug}.")
