"""The ``letter`` command: the server (serve, worker, db, admin) and the
client of the Management API (login, every resource, ``api``).

Start-up is kept short (DESIGN §8): the root lists its commands from the
static table ``letter.cli.commands.COMMANDS`` and imports only the module of
the command it runs; help is click's plain text unless a person reads it on
a colour terminal (then Typer's Rich panels); the server, httpx and Rich
load only when a command needs them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand, TyperGroup

from letter.cli.commands import COMMANDS
from letter.cli.output import styled
from letter.cli.params import lighten

if TYPE_CHECKING:
    from typer._click import Command, Context, HelpFormatter

__all__ = ["Root", "app", "load"]


class _Listed(TyperCommand):
    """A command's entry in the root's help before its module is imported."""


class Root(TyperGroup):
    """The root group: its commands come from ``COMMANDS``, each imported
    (and built by Typer) the first time it is resolved."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listing = False
        for name, (_, help_text) in COMMANDS.items():
            self.commands.setdefault(name, _Listed(name=name, help=help_text, short_help=help_text))

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # Decided per run, not at import: tests run many in one process.
        self.rich_markup_mode = "rich" if styled() else None
        lighten(self)
        return super().main(*args, **kwargs)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = self.commands.get(cmd_name)
        if isinstance(command, _Listed) and not self._listing:
            command = self.commands[cmd_name] = load(cmd_name, self.rich_markup_mode)
        return command

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        self._listing = True  # one-line helps from the table: import nothing
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def load(name: str, rich_markup_mode: Any = None) -> Command:
    """The click command of ``COMMANDS[name]``, built as ``add_typer`` or
    ``command`` on the root would build it."""
    target, _ = COMMANDS[name]
    module_name, _, attribute = target.partition(":")
    found = getattr(import_module(module_name), attribute)
    holder = typer.Typer(rich_markup_mode=rich_markup_mode)
    if isinstance(found, typer.Typer):
        holder.add_typer(found, name=name)
    else:
        holder.command(name)(found)
    command = typer.main.get_group(holder).commands[name]
    lighten(command)
    return command


app = typer.Typer(
    cls=Root,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Letter: lifecycle email for SaaS teams.",
)


@app.callback()
def _root() -> None:
    pass  # a group with no options of its own: Root supplies the commands


if __name__ == "__main__":
    app()
