"""``letter topics``: subscription topics and a contact's choice."""

from __future__ import annotations

from enum import StrEnum
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

NAME = "topics"
app = group("Topics: what contacts subscribe to (the preference centre shows public ones).")
COLUMNS = [("ID", "id"), ("NAME", "name"), ("DEFAULT", "default"),
           ("VISIBILITY", "visibility"), ("CREATED", "created_at")]
TopicId = Annotated[str, typer.Argument(help="Topic id.")]


class Default(StrEnum):
    opt_in = "opt_in"
    opt_out = "opt_out"


class Visibility(StrEnum):
    public = "public"
    private = "private"


Description = Annotated[str | None, typer.Option(help="What the topic's emails are about.")]
DefaultOpt = Annotated[Default | None, typer.Option(
    "--default", help="opt_in: subscribed unless they leave; opt_out: only who joins.")]
VisibilityOpt = Annotated[Visibility | None, typer.Option(
    help="public topics show in the preference centre.")]


@app.command("list")
def list_(
    project: ProjectOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50,
    all_: AllOpt = False,
) -> None:
    """List the project's topics."""
    list_cmd(project_path(project, "/topics"), COLUMNS, as_json, limit, all_)


@app.command("get")
def get_(topic_id: TopicId, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Show a topic."""
    get(project_path(project, f"/topics/{seg(topic_id)}"), as_json)


@app.command("create")
def create_(
    name: Annotated[str, typer.Option(help="Topic name, as contacts see it.")],
    description: Description = None,
    default: DefaultOpt = None,
    visibility: VisibilityOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a topic (opt_in and public unless told otherwise)."""
    body = {"name": name, "description": description, "default": default,
            "visibility": visibility}
    create(project_path(project, "/topics"), body, as_json)


@app.command("update")
def update_(
    topic_id: TopicId,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    description: Description = None,
    default: DefaultOpt = None,
    visibility: VisibilityOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a topic's name, description, default or visibility."""
    body = {"name": name, "description": description, "default": default,
            "visibility": visibility}
    update(project_path(project, f"/topics/{seg(topic_id)}"), body, as_json)


@app.command("delete")
def delete_(topic_id: TopicId, project: ProjectOpt = None, yes: YesOpt = False) -> None:
    """Delete a topic and every choice recorded for it."""
    confirm(f"delete topic {topic_id}", yes)
    delete(project_path(project, f"/topics/{seg(topic_id)}"), f"Deleted topic {topic_id}.")


@app.command("set")
def set_(
    contact: Annotated[str, typer.Argument(help="External id (or email) of the contact.")],
    topic_id: TopicId,
    subscribed: Annotated[bool, typer.Option(
        "--subscribed/--unsubscribed", help="The contact's choice.")] = True,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a contact's choice for a topic."""
    update(project_path(project, f"/contacts/{seg(contact)}/topics/{seg(topic_id)}"),
           {"subscribed": subscribed}, as_json, method="PUT")
