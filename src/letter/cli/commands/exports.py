"""``letter exports``: contact exports to CSV.

    letter exports create --segment SEGMENT_ID --output contacts.csv
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from letter.cli.commands.imports import download
from letter.cli.common import (
    AllOpt,
    JsonOpt,
    LimitOpt,
    ProjectOpt,
    group,
    json_arg,
    list_cmd,
    project_path,
    seg,
    show,
)
from letter.cli.http import EXIT_FAILURE, api

NAME = "exports"
app = group("Contact exports to CSV (20 per user per hour; links expire after an hour).")
COLUMNS = [("ID", "id"), ("STATUS", "status"), ("ROWS", "row_count"),
           ("EXPIRES", "expires_at"), ("STARTED", "created_at")]
ExportId = Annotated[str, typer.Argument(help="Export id.")]


@app.command("create")
def create_(
    filter_: Annotated[str | None, typer.Option(
        "--filter", help="FilterSpec: JSON, @file.json or - for stdin.")] = None,
    segment: Annotated[str | None, typer.Option(help="Segment id.")] = None,
    list_id: Annotated[str | None, typer.Option("--list", help="List id.")] = None,
    topic: Annotated[str | None, typer.Option(help="Topic id (its subscribers).")] = None,
    status: Annotated[str | None, typer.Option(help="subscribed or unsubscribed.")] = None,
    email_contains: Annotated[str | None, typer.Option(help="Part of the email.")] = None,
    wait: Annotated[bool, typer.Option(help="Wait until the file is ready.")] = False,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Wait, then save the CSV here (- for stdout).")] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Start an export of the contacts matching every filter given."""
    base = project_path(project, "/contacts/exports")
    body = {"filter": json_arg(filter_, "--filter"), "segment_id": segment, "list_id": list_id,
            "topic_id": topic, "status": status, "email_contains": email_contains}
    client = api()
    created = client.call("POST", base, json_body={k: v for k, v in body.items()
                                                   if v is not None}, idempotent=True)
    if not (wait or output):
        show(created.text, as_json)
        return
    path = f"{base}/{seg(created.json()['id'])}"
    while True:
        export: dict[str, Any] = client.call("GET", path).json()
        if export["status"] in ("completed", "failed"):
            break
        time.sleep(0.5)
    if export["status"] != "completed":
        show(json.dumps(export), as_json)
        raise typer.Exit(EXIT_FAILURE)
    if output is not None:
        download(export["download_url"], output)
        if str(output) == "-":
            return
    show(json.dumps(export), as_json)


@app.command("list")
def list_(project: ProjectOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50,
          all_: AllOpt = False) -> None:
    """Recent exports, newest first."""
    list_cmd(project_path(project, "/contacts/exports"), COLUMNS, as_json, limit, all_)


@app.command("get")
def get_(export_id: ExportId, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """An export's status, and its download link while it lasts."""
    show(api().call("GET", project_path(project, f"/contacts/exports/{seg(export_id)}")).text,
         as_json)
