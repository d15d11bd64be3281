"""``letter project-tokens``: a project's ingestion keys (lt_live_…)."""

from __future__ import annotations

from typing import Annotated

import typer

from letter.cli.common import (
    AllOpt,
    JsonOpt,
    LimitOpt,
    ProjectOpt,
    create,
    delete,
    group,
    list_cmd,
    project_path,
    seg,
)

NAME = "project-tokens"
app = group("A project's ingestion keys (lt_live_…) for the SDKs and Ingestion API.")
COLUMNS = [("ID", "id"), ("NAME", "name"), ("PREFIX", "prefix"), ("SCOPE", "scope"),
           ("LAST USED", "last_used_at"), ("CREATED", "created_at")]


@app.command("list")
def list_(
    project: ProjectOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50,
    all_: AllOpt = False,
) -> None:
    """List active ingestion keys."""
    list_cmd(project_path(project, "/keys"), COLUMNS, as_json, limit, all_)


@app.command("create")
def create_(
    name: Annotated[str | None, typer.Option(help="What the key is for.")] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mint an ingestion key (admin); the secret is shown once."""
    create(project_path(project, "/keys"), {"name": name}, as_json)


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="Key id.")], project: ProjectOpt = None
) -> None:
    """Revoke an ingestion key (admin)."""
    delete(project_path(project, f"/keys/{seg(key_id)}"), f"Revoked key {key_id}.")
