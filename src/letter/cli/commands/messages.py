"""``letter messages``: send one email, and the log of every email sent."""

from __future__ import annotations

from typing import Annotated

import typer

from letter.cli.common import (
    AllOpt,
    JsonOpt,
    LimitOpt,
    ProjectOpt,
    create,
    get,
    group,
    json_arg,
    list_cmd,
    project_path,
    seg,
)
from letter.cli.http import EXIT_USAGE, fail

NAME = "messages"
app = group("Send a message; the outbox log.")
COLUMNS = [("ID", "id"), ("TO", "to_email"), ("KIND", "kind"), ("STATE", "state"),
           ("SUBJECT", "subject"), ("CREATED", "created_at")]


@app.command("list")
def list_(
    state: Annotated[str | None, typer.Option(help="Only messages in this state.")] = None,
    contact: Annotated[str | None, typer.Option(help="Only to this contact id.")] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
    limit: LimitOpt = 50,
    all_: AllOpt = False,
) -> None:
    """List messages."""
    params = {"state": state, "contact": contact}
    list_cmd(project_path(project, "/messages"), COLUMNS, as_json, limit, all_, params)


@app.command("get")
def get_(
    message_id: Annotated[str, typer.Argument(help="Message id.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a message with its state history."""
    get(project_path(project, f"/messages/{seg(message_id)}"), as_json)


@app.command("send")
def send(
    subject: Annotated[str, typer.Option(help="Subject line.")],
    body: Annotated[str, typer.Option(help="bodyDoc (TipTap JSON), @file.json or -.")],
    to: Annotated[str | None, typer.Option(help="The contact's external id.")] = None,
    to_email: Annotated[str | None, typer.Option(help="Or the contact's email.")] = None,
    template_id: Annotated[str | None, typer.Option(help="Template id.")] = None,
    data: Annotated[str | None, typer.Option(help="Liquid data: JSON or @file.json.")] = None,
    bulk: Annotated[bool, typer.Option("--bulk", help="Marketing, not transactional.")] = False,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Queue one email to one contact."""
    if (to is None) == (to_email is None):
        fail("pass exactly one of --to or --to-email.", EXIT_USAGE)
    recipient = {"external_id": to} if to is not None else {"email": to_email}
    payload = {
        "to": recipient, "subject": subject, "body_doc": json_arg(body, "--body"),
        "template_id": template_id, "data": json_arg(data, "--data"), "transactional": not bulk,
    }
    create(project_path(project, "/messages"), payload, as_json)
