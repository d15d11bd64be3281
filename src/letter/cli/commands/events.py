"""``letter events``: the project's event stream."""

from __future__ import annotations

from typing import Annotated

import typer

from letter.cli.common import AllOpt, JsonOpt, LimitOpt, ProjectOpt, group, list_cmd, project_path

NAME = "events"
app = group("Events reported by your backend.")
COLUMNS = [("NAME", "name"), ("USER", "external_user_id"), ("PROPERTIES", "properties"),
           ("OCCURRED", "occurred_at")]


@app.command("list")
def list_(
    name: Annotated[str | None, typer.Option(help="Only events with this name.")] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
    limit: LimitOpt = 50,
    all_: AllOpt = False,
) -> None:
    """List events."""
    list_cmd(project_path(project, "/events"), COLUMNS, as_json, limit, all_, {"name": name})
