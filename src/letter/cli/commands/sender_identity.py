"""``letter sender-identity``: the From and Reply-To of a project (admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from letter.cli.common import JsonOpt, ProjectOpt, group, project_path, update

NAME = "sender-identity"
app = group("The From name, From address and Reply-To of a project (admin).")


@app.command("set")
def set_(
    from_email: Annotated[str, typer.Option(help="From address.")],
    from_name: Annotated[str | None, typer.Option(help="From name.")] = None,
    reply_to: Annotated[str | None, typer.Option(help="Reply-To address.")] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the sender identity; prints the project."""
    body = {"from_email": from_email, "from_name": from_name, "reply_to_email": reply_to}
    update(project_path(project, "/sender-identity"), body, as_json, method="PUT")
