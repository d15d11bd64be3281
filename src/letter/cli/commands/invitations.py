"""``letter invitations``: pending invitations (admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from letter.cli.commands.members import RoleOpt
from letter.cli.common import AllOpt, JsonOpt, LimitOpt, create, delete, group, list_cmd, seg

NAME = "invitations"
app = group("Pending invitations to the workspace (admin).")
COLUMNS = [("ID", "id"), ("EMAIL", "email"), ("ROLE", "role"), ("STATUS", "status"),
           ("EXPIRES", "expires_at")]


@app.command("list")
def list_(as_json: JsonOpt = False, limit: LimitOpt = 50, all_: AllOpt = False) -> None:
    """List pending invitations."""
    list_cmd("/v1/invitations", COLUMNS, as_json, limit, all_)


@app.command("create")
def create_(
    email: Annotated[str, typer.Option(help="Their email.")],
    role: RoleOpt = "member",
    as_json: JsonOpt = False,
) -> None:
    """Invite someone (same as `letter members invite`)."""
    create("/v1/invitations", {"email": email, "role": role}, as_json)


@app.command("revoke")
def revoke(invitation_id: Annotated[str, typer.Argument(help="Invitation id.")]) -> None:
    """Revoke a pending invitation."""
    delete(f"/v1/invitations/{seg(invitation_id)}", f"Revoked invitation {invitation_id}.")
