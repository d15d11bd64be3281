"""``letter contacts``: people in a project (created by the Ingestion API)."""

from __future__ import annotations

from typing import Annotated

import typer

from letter.cli.common import (
    AllOpt,
    JsonOpt,
    LimitOpt,
    ProjectOpt,
    delete,
    get,
    group,
    json_arg,
    list_cmd,
    project_path,
    seg,
    show,
)
from letter.cli.http import api

NAME = "contacts"
app = group("Contacts of a project.")
COLUMNS = [("EXTERNAL ID", "external_id"), ("EMAIL", "email"), ("TRAITS", "traits"),
           ("UNSUBSCRIBED", "unsubscribed_at"), ("CREATED", "created_at")]
ExternalId = Annotated[str, typer.Argument(help="Your user id for the contact (or its email).")]


@app.command("list")
def list_(
    project: ProjectOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50,
    all_: AllOpt = False,
) -> None:
    """List contacts, newest last."""
    list_cmd(project_path(project, "/contacts"), COLUMNS, as_json, limit, all_)


@app.command("get")
def get_(external_id: ExternalId, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Show a contact with its account and recent events."""
    get(project_path(project, f"/contacts/{seg(external_id)}"), as_json)


@app.command("search")
def search(
    filter_: Annotated[
        str | None, typer.Option("--filter", help="FilterSpec: JSON, @file.json or -.")
    ] = None,
    segment_id: Annotated[str | None, typer.Option(help="A saved segment instead.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Page size.")] = 50,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Contacts matching a filter or a segment (first page)."""
    body = {"filter": json_arg(filter_, "--filter"), "segment_id": segment_id, "limit": limit}
    response = api().call(
        "POST", project_path(project, "/contacts/search"),
        json_body={k: v for k, v in body.items() if v is not None},
    )
    if as_json:
        show(response.text, True)
        return
    from letter.cli.output import print_table

    print_table(response.json()["data"], COLUMNS)


@app.command("suppress")
def suppress(external_id: ExternalId, project: ProjectOpt = None) -> None:
    """Unsubscribe a contact from everything."""
    path = project_path(project, f"/contacts/{seg(external_id)}/suppress")
    delete(path, f"Suppressed {external_id}.", method="POST")


@app.command("resubscribe")
def resubscribe(external_id: ExternalId, project: ProjectOpt = None) -> None:
    """Clear a contact's suppression."""
    path = project_path(project, f"/contacts/{seg(external_id)}/resubscribe")
    delete(path, f"Resubscribed {external_id}.", method="POST")
