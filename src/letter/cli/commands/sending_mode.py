"""``letter sending-mode``: Letter's subdomain or your own verified domain (admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from letter.cli.common import JsonOpt, ProjectOpt, group, project_path, update

NAME = "sending-mode"
app = group("Send from Letter's subdomain or your verified domain (admin).")


@app.command("set")
def set_(
    mode: Annotated[str, typer.Argument(help="letter_subdomain or byo_domain.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Switch the sending mode; prints the project."""
    update(project_path(project, "/sending-mode"), {"sending_mode": mode}, as_json, method="PUT")
