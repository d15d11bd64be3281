"""``letter accounts``: companies your contacts belong to (from group calls)."""

from __future__ import annotations

from typing import Annotated

import typer

from letter.cli.common import (
    AllOpt,
    JsonOpt,
    LimitOpt,
    ProjectOpt,
    get,
    group,
    list_cmd,
    project_path,
    seg,
)

NAME = "accounts"
app = group("Accounts (companies) of a project.")
COLUMNS = [("EXTERNAL ID", "external_id"), ("NAME", "name"), ("TRAITS", "traits"),
           ("CREATED", "created_at")]


@app.command("list")
def list_(
    project: ProjectOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50,
    all_: AllOpt = False,
) -> None:
    """List accounts."""
    list_cmd(project_path(project, "/accounts"), COLUMNS, as_json, limit, all_)


@app.command("get")
def get_(
    external_id: Annotated[str, typer.Argument(help="Your id for the account.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show an account with its contacts."""
    get(project_path(project, f"/accounts/{seg(external_id)}"), as_json)
