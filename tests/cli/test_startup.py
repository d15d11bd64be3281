"""The client half starts light: loading ``letter`` imports no server code,
and neither httpx nor Rich until a command needs them (DESIGN §8 start-up).
The root lists and loads its commands from one table."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import import_module

import typer
from typer.testing import CliRunner

from letter.cli.commands import COMMANDS
from letter.cli.main import app, load

HEAVY = ("fastapi", "sqlalchemy", "uvicorn", "letter.app", "letter.db", "letter.settings",
         "letter.auth", "httpx", "rich.table")


def test_loading_the_cli_imports_no_server_modules():
    code = (
        "import sys, json; import letter.cli.main; "
        "print(json.dumps(sorted(m for m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    loaded = json.loads(done.stdout)
    heavy = [m for m in loaded if m.startswith(HEAVY)]
    assert heavy == []


def test_the_root_table_says_what_each_module_defines():
    for name, (target, help_text) in COMMANDS.items():
        command = load(name)
        assert command.name == name
        assert command.help == help_text, name
        module_name, _, attribute = target.partition(":")
        module = import_module(module_name)
        if isinstance(getattr(module, attribute), typer.Typer) and hasattr(module, "NAME"):
            assert name == module.NAME


def test_root_help_lists_every_command_with_its_help():
    out = " ".join(CliRunner().invoke(app, ["--help"]).stdout.split())  # unwrapped
    for name, (_, help_text) in COMMANDS.items():
        assert f" {name} {help_text}" in out, name
