"""The client half starts light (DESIGN §8 start-up): loading ``letter``
imports no server code; ``letter --help`` imports no command module, and a
client command only its own group's, with httpx but never Rich when its
output is not a terminal. Checked on the modules a real run loaded, so a
regression fails here rather than as a slower benchmark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import import_module

import pytest
import typer
from typer.testing import CliRunner

from letter.cli.commands import COMMANDS
from letter.cli.main import app, load

HEAVY = ("fastapi", "sqlalchemy", "uvicorn", "letter.app", "letter.db", "letter.settings",
         "letter.auth", "httpx", "rich.table")
SERVER_SIDE = ("fastapi", "starlette", "sqlalchemy", "uvicorn", "alembic", "psycopg", "pydantic",
               "letter.app", "letter.api", "letter.db", "letter.settings", "letter.auth",
               "letter.runtime", "letter.worker", "letter.cli.server")
RICH = ("rich", "typer.rich_utils", "markdown_it", "pygments")


def _heavy(loaded: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in loaded if m.split(".")[0] in prefixes or m.startswith(prefixes)]


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


class _EmptyPages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"data": [], "next_cursor": null}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmptyPages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _modules_after(args: list[str], api_url: str, tmp_path: object) -> list[str]:
    """Run ``letter ARGS`` (output piped) and list the modules it had loaded."""
    code = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: sys.stderr.write("
        "'\\nMODULES ' + json.dumps(sorted(sys.modules))))\n"
        "from letter.cli.main import app\n"
        f"app({args!r}, prog_name='letter')\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path), "LETTER_API_URL": api_url,
           "LETTER_PAT": "lt_pat_test", "LETTER_PROJECT": "acme"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stderr.rpartition("MODULES ")[2])
    return loaded


@pytest.mark.parametrize("args", [["--help"], ["projects", "--help"]])
def test_help_imports_neither_the_server_nor_rich_nor_httpx(args, api_url, tmp_path):
    loaded = _modules_after(args, api_url, tmp_path)
    assert _heavy(loaded, SERVER_SIDE + RICH + ("httpx", "httpcore")) == []
    groups = {m for m in loaded if m.startswith("letter.cli.commands.")}
    assert groups == ({"letter.cli.commands.projects"} if args[0] == "projects" else set())


@pytest.mark.parametrize("args", [["projects", "list"], ["contacts", "list", "--json"]])
def test_a_list_command_imports_its_group_and_httpx_only(args, api_url, tmp_path):
    loaded = _modules_after(args, api_url, tmp_path)
    assert "httpx" in loaded  # the run did reach the API
    assert _heavy(loaded, SERVER_SIDE + RICH) == []
    groups = {m for m in loaded if m.startswith("letter.cli.commands.")}
    assert groups == {f"letter.cli.commands.{args[0]}"}


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
