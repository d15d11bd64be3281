"""``letter lists``: static lists of contacts and their members."""

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
    list_cmd,
    project_path,
    seg,
    update,
)
from letter.cli.http import EXIT_USAGE, fail

NAME = "lists"
app = group("Lists: static sets of contacts.")
members = group("The contacts on a list.")
app.add_typer(members, name="members")
COLUMNS = [("ID", "id"), ("NAME", "name"), ("DESCRIPTION", "description"),
           ("CREATED", "created_at")]
MEMBER_COLUMNS = [("EXTERNAL ID", "external_id"), ("EMAIL", "email"),
                  ("UNSUBSCRIBED", "unsubscribed_at")]
ListId = Annotated[str, typer.Argument(help="List id.")]
Description = Annotated[str | None, typer.Option(help="What the list is for.")]


@app.command("list")
def list_(
    project: ProjectOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50,
    all_: AllOpt = False,
) -> None:
    """List the project's lists."""
    list_cmd(project_path(project, "/lists"), COLUMNS, as_json, limit, all_)


@app.command("get")
def get_(list_id: ListId, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Show a list and how many contacts are on it."""
    get(project_path(project, f"/lists/{seg(list_id)}"), as_json)


@app.command("create")
def create_(
    name: Annotated[str, typer.Option(help="List name.")],
    description: Description = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a list."""
    create(project_path(project, "/lists"), {"name": name, "description": description},
           as_json)


@app.command("update")
def update_(
    list_id: ListId,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    description: Description = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rename a list or change its description."""
    update(project_path(project, f"/lists/{seg(list_id)}"),
           {"name": name, "description": description}, as_json)


@app.command("delete")
def delete_(list_id: ListId, project: ProjectOpt = None, yes: YesOpt = False) -> None:
    """Delete a list (its contacts stay)."""
    confirm(f"delete list {list_id}", yes)
    delete(project_path(project, f"/lists/{seg(list_id)}"), f"Deleted list {list_id}.")


@members.command("list")
def members_list(
    list_id: ListId, project: ProjectOpt = None, as_json: JsonOpt = False,
    limit: LimitOpt = 50, all_: AllOpt = False,
) -> None:
    """The contacts on a list."""
    list_cmd(project_path(project, f"/lists/{seg(list_id)}/members"), MEMBER_COLUMNS,
             as_json, limit, all_)


@members.command("add")
def members_add(
    list_id: ListId,
    external_id: Annotated[list[str] | None, typer.Option(
        "--external-id", help="A contact's external id (repeatable).")] = None,
    email: Annotated[list[str] | None, typer.Option(
        "--email", help="A contact's email (repeatable).")] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add contacts by external id or by email; says which matched nobody."""
    if bool(external_id) == bool(email):
        fail("pass --external-id or --email (one kind, repeatable).", EXIT_USAGE)
    body = {"external_ids": external_id} if external_id else {"emails": email}
    create(project_path(project, f"/lists/{seg(list_id)}/members"), body, as_json)


@members.command("remove")
def members_remove(
    list_id: ListId,
    contact: Annotated[str, typer.Argument(help="External id (or email) of the contact.")],
    project: ProjectOpt = None,
) -> None:
    """Take a contact off a list."""
    delete(project_path(project, f"/lists/{seg(list_id)}/members/{seg(contact)}"),
           f"Removed {contact} from list {list_id}.")
