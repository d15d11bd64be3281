"""``letter suppressions``: who must never be emailed."""

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

NAME = "suppressions"
app = group("The suppression list of a project.")
COLUMNS = [("EMAIL", "email"), ("EXTERNAL ID", "external_id"), ("REASON", "unsubscribe_reason"),
           ("SINCE", "unsubscribed_at")]


@app.command("list")
def list_(
    project: ProjectOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50,
    all_: AllOpt = False,
) -> None:
    """List suppressed contacts."""
    list_cmd(project_path(project, "/suppressions"), COLUMNS, as_json, limit, all_)


@app.command("add")
def add(
    email: Annotated[str, typer.Option(help="The contact's email.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Suppress a contact by email."""
    create(project_path(project, "/suppressions"), {"email": email}, as_json)


@app.command("remove")
def remove(
    email: Annotated[str, typer.Argument(help="The email to resubscribe.")],
    project: ProjectOpt = None,
) -> None:
    """Remove an email from the list (resubscribe)."""
    delete(project_path(project, f"/suppressions/{seg(email)}"), f"Resubscribed {email}.")
