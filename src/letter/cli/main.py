"""The ``letter`` command: the server (serve, worker, db, admin) and the
client of the Management API (login, every resource, ``api``).

Only Typer is imported at start: the server, httpx and Rich load when a
command needs them, so ``letter --help`` and list commands start fast.
"""

from __future__ import annotations

import os
from importlib import import_module

import typer

from letter.cli import server
from letter.cli.commands import GROUPS, auth
from letter.cli.commands import api as raw_api

if os.environ.get("NO_COLOR"):
    # Typer's help and error panels honour NO_COLOR for colours only; this
    # turns off their bold and dim escape codes as well.
    import typer.rich_utils

    typer.rich_utils.COLOR_SYSTEM = None

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Letter: lifecycle email for SaaS teams.",
)
server.register(app)
app.command("login")(auth.login)
app.command("logout")(auth.logout)
app.add_typer(auth.app, name=auth.NAME)
app.command("api")(raw_api.raw)
for _name in GROUPS:
    _module = import_module(f"letter.cli.commands.{_name}")
    app.add_typer(_module.app, name=_module.NAME)


if __name__ == "__main__":
    app()
