"""docs/cli.md lists every client command the CLI has."""

from __future__ import annotations

from pathlib import Path

import typer

from letter.cli.commands import GROUPS, auth
from letter.cli.main import app

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
SERVER = {"serve", "worker", "db", "admin"}


def _names(group: typer.Typer) -> list[str]:
    commands = group.registered_commands
    return [c.name or (c.callback.__name__ if c.callback else "") for c in commands]


def test_every_client_command_is_documented():
    from importlib import import_module

    expected = [f"letter {name}" for name in ("login", "logout", "api")]
    expected += [f"letter auth {cmd}" for cmd in _names(auth.app)]
    for module_name in GROUPS:
        module = import_module(f"letter.cli.commands.{module_name}")
        expected += [f"letter {module.NAME} {cmd}" for cmd in _names(module.app)]
    missing = [line for line in expected if f"`{line}" not in DOC]
    assert not missing
    mounted = {g.name for g in app.registered_groups} | set(_names(app))
    assert {"login", "logout", "api", "auth", *SERVER} <= mounted
