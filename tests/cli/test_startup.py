"""The client half starts light: loading ``letter`` imports no server code,
and neither httpx nor Rich until a command needs them (DESIGN §8 start-up)."""

from __future__ import annotations

import json
import subprocess
import sys

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
