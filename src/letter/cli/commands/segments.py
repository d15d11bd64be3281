"""``letter segments``: saved audience filters."""

from __future__ import annotations

from typing import Annotated

import typer

from letter.cli.common import (
    AllOpt,
    JsonOpt,
    LimitOpt,
    ProjectOpt,
    YesOpt,
    confirm,
    create,
    delete,
    get,
    group,
    json_arg,
    list_cmd,
    project_path,
    seg,
    show,
    update,
)
from letter.cli.http import api

NAME = "segments"
app = group("Segments: saved FilterSpecs.")
COLUMNS = [("ID", "id"), ("NAME", "name"), ("FILTER", "filter"), ("UPDATED", "updated_at")]
SegmentId = Annotated[str, typer.Argument(help="Segment id.")]
FilterOpt = Annotated[
    str | None, typer.Option("--filter", help="FilterSpec: JSON, @file.json or - for stdin.")
]


@app.command("list")
def list_(
    project: ProjectOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50,
    all_: AllOpt = False,
) -> None:
    """List segments."""
    list_cmd(project_path(project, "/segments"), COLUMNS, as_json, limit, all_)


@app.command("get")
def get_(segment_id: SegmentId, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Show a segment."""
    get(project_path(project, f"/segments/{seg(segment_id)}"), as_json)


@app.command("create")
def create_(
    name: Annotated[str, typer.Option(help="Segment name.")],
    filter_: FilterOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Save a segment."""
    if filter_ is None:
        raise typer.BadParameter("required", param_hint="--filter")
    body = {"name": name, "filter": json_arg(filter_, "--filter")}
    create(project_path(project, "/segments"), body, as_json)


@app.command("update")
def update_(
    segment_id: SegmentId,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    filter_: FilterOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rename a segment or replace its filter."""
    body = {"name": name, "filter": json_arg(filter_, "--filter")}
    update(project_path(project, f"/segments/{seg(segment_id)}"), body, as_json)


@app.command("delete")
def delete_(segment_id: SegmentId, project: ProjectOpt = None, yes: YesOpt = False) -> None:
    """Delete a segment."""
    confirm(f"delete segment {segment_id}", yes)
    delete(project_path(project, f"/segments/{seg(segment_id)}"), f"Deleted segment {segment_id}.")


@app.command("preview")
def preview(
    filter_: FilterOpt = None, project: ProjectOpt = None, as_json: JsonOpt = False
) -> None:
    """Count the contacts a filter matches, without saving it."""
    if filter_ is None:
        raise typer.BadParameter("required", param_hint="--filter")
    body = {"filter": json_arg(filter_, "--filter")}
    show(api().call("POST", project_path(project, "/segments/preview"), json_body=body).text,
         as_json)
