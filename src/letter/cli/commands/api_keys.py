"""``letter api-keys``: your personal access tokens (lt_pat_…)."""

from __future__ import annotations

from typing import Annotated

import typer

from letter.cli.common import AllOpt, JsonOpt, LimitOpt, create, delete, group, list_cmd, seg

NAME = "api-keys"
app = group("Your personal access tokens (lt_pat_…) in this workspace.")
COLUMNS = [("ID", "id"), ("NAME", "name"), ("PREFIX", "prefix"),
           ("LAST USED", "last_used_at"), ("EXPIRES", "expires_at"), ("CREATED", "created_at")]


@app.command("list")
def list_(as_json: JsonOpt = False, limit: LimitOpt = 50, all_: AllOpt = False) -> None:
    """List your active tokens."""
    list_cmd("/v1/tokens", COLUMNS, as_json, limit, all_)


@app.command("create")
def create_(
    name: Annotated[str, typer.Option(help="What the token is for.")],
    expires_at: Annotated[
        str | None, typer.Option(help="ISO 8601 instant, e.g. 2027-01-01T00:00:00Z.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Mint a token; the secret is shown once."""
    create("/v1/tokens", {"name": name, "expires_at": expires_at}, as_json)


@app.command("revoke")
def revoke(token_id: Annotated[str, typer.Argument(help="Token id.")]) -> None:
    """Revoke a token."""
    delete(f"/v1/tokens/{seg(token_id)}", f"Revoked token {token_id}.")
