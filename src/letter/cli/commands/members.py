"""``letter members``: who is in the workspace (admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from letter.cli.common import (
    AllOpt,
    JsonOpt,
    LimitOpt,
    YesOpt,
    confirm,
    create,
    delete,
    group,
    list_cmd,
    seg,
)

NAME = "members"
app = group("Workspace members (admin).")
COLUMNS = [("USER ID", "user_id"), ("EMAIL", "email"), ("NAME", "name"), ("ROLE", "role"),
           ("JOINED", "joined_at")]
RoleOpt = Annotated[str, typer.Option(help="member or admin.")]


@app.command("list")
def list_(as_json: JsonOpt = False, limit: LimitOpt = 50, all_: AllOpt = False) -> None:
    """List members."""
    list_cmd("/v1/members", COLUMNS, as_json, limit, all_)


@app.command("invite")
def invite(
    email: Annotated[str, typer.Option(help="Their email.")],
    role: RoleOpt = "member",
    as_json: JsonOpt = False,
) -> None:
    """Invite someone by email."""
    create("/v1/members", {"email": email, "role": role}, as_json)


@app.command("remove")
def remove(
    user_id: Annotated[str, typer.Argument(help="The member's user id.")], yes: YesOpt = False
) -> None:
    """Remove a member from the workspace."""
    confirm(f"remove member {user_id}", yes)
    delete(f"/v1/members/{seg(user_id)}", f"Removed member {user_id}.")
