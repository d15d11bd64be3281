"""``letter domains``: custom sending domains and their DKIM records (admin)."""

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
    group,
    list_cmd,
    project_path,
    seg,
    show,
)
from letter.cli.http import api

NAME = "domains"
app = group("Custom sending domains (admin).")
COLUMNS = [("ID", "id"), ("DOMAIN", "domain"), ("KIND", "kind"), ("STATUS", "status"),
           ("VERIFIED", "verified_at"), ("DKIM TOKENS", "dkim_tokens")]
DomainId = Annotated[str, typer.Argument(help="Domain id.")]


@app.command("list")
def list_(
    project: ProjectOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50,
    all_: AllOpt = False,
) -> None:
    """List sending domains."""
    list_cmd(project_path(project, "/domains"), COLUMNS, as_json, limit, all_)


@app.command("add")
def add(
    domain: Annotated[str, typer.Argument(help="e.g. mail.acme.com")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a domain; then publish the DKIM records it shows and verify."""
    create(project_path(project, "/domains"), {"domain": domain}, as_json)


@app.command("verify")
def verify(domain_id: DomainId, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Check the domain's DKIM records now."""
    path = project_path(project, f"/domains/{seg(domain_id)}/verify")
    show(api().call("POST", path).text, as_json)


@app.command("remove")
def remove(domain_id: DomainId, project: ProjectOpt = None, yes: YesOpt = False) -> None:
    """Deregister a domain."""
    confirm(f"remove domain {domain_id}", yes)
    delete(project_path(project, f"/domains/{seg(domain_id)}"), f"Removed domain {domain_id}.")
