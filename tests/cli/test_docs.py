"""docs/cli.md lists every client command the CLI has."""

from __future__ import annotations

from pathlib import Path

from letter.cli.commands import COMMANDS
from letter.cli.main import load

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
SERVER = {"serve", "worker", "db", "admin"}


def _lines(name: str) -> list[str]:
    """``letter NAME``, or ``letter NAME SUB`` for each command of a group."""
    command = load(name)
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        return [f"letter {name}"]
    return [f"letter {name} {sub}" for sub in subcommands]


def test_every_client_command_is_documented():
    expected = [line for name in COMMANDS if name not in SERVER for line in _lines(name)]
    missing = [line for line in expected if f"`{line}" not in DOC]
    assert not missing
    assert {"letter login", "letter logout", "letter api", "letter auth status"} <= set(expected)
    assert {"login", "logout", "api", "auth", *SERVER} <= set(COMMANDS)
