"""Helpers for the ``letterapp`` end-to-end tests: one real server per module,
a fresh project and ingestion key per test, Management API read-back."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from letterapp import LetterError

from tests.e2e.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
SDK_SRC = ROOT / "sdks" / "python" / "src"
EXAMPLES = ROOT / "sdks" / "python" / "examples"


# A script that queues 2 x n items and never calls flush() or close().
EXIT_SCRIPT = '''\
import os
import sys
from letterapp import Letter

def on_error(error, items):
    print("lost", len(items), error, file=sys.stderr)

def main():
    letter = Letter(api_key=os.environ["LETTER_API_KEY"],
                    base_url=os.environ["LETTER_API_URL"], on_error=on_error)
    for i in range({n}):
        letter.identify(user_id="exit_%d" % i, email="exit%d@example.com" % i,
                        traits={{"i": i}})
        letter.track(user_id="exit_%d" % i, event="Exited", properties={{"i": i}})
    return letter

{ending}
'''

ENDINGS = {
    # A module-level client, alive until exit.
    "end-of-script": "letter = main()",
    "sys-exit": "letter = main()\nsys.exit(0)",
    # The client is garbage collected when main() returns, queue still full.
    "client-local-to-main": "main()",
}


@dataclass
class Server:
    live: LiveServer
    token: str

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.live.base_url)
        assert parts.hostname and parts.port
        return parts.hostname, parts.port


@dataclass
class Project:
    """A project of the live server, its ingestion key and a PAT client."""

    server: Server
    slug: str
    key: str
    http: httpx.Client

    @property
    def base_url(self) -> str:
        return self.server.live.base_url

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(f"/v1/projects/{self.slug}{path}", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def all(self, path: str, limit: int = 100) -> list[dict[str, Any]]:
        """Every row of a paginated list, following next_cursor."""
        rows: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            page = self.get(path, **params)
            rows += page["data"]
            cursor = page["next_cursor"]
            if not cursor:
                return rows

    def script_env(self, base_url: str | None = None) -> dict[str, str]:
        """Environment of an SDK script run in a subprocess: this worktree's SDK first."""
        path = os.pathsep.join(p for p in (str(SDK_SRC), os.environ.get("PYTHONPATH")) if p)
        return {**os.environ, "PYTHONPATH": path, "LETTER_API_KEY": self.key,
                "LETTER_API_URL": base_url or self.base_url}

    def run_script(self, code: str, tmp_path: Path, base_url: str | None = None
                   ) -> subprocess.CompletedProcess[str]:
        script = tmp_path / f"script_{uuid.uuid4().hex[:8]}.py"
        script.write_text(code)
        return subprocess.run([sys.executable, str(script)], env=self.script_env(base_url),
                              capture_output=True, text=True, timeout=60, check=False)


def new_project(server: Server) -> Project:
    http = httpx.Client(base_url=server.live.base_url, timeout=30,
                        headers={"Authorization": f"Bearer {server.token}"})
    created = http.post("/v1/projects", json={"name": f"SDK {uuid.uuid4().hex[:10]}"})
    assert created.status_code == 201, created.text
    slug = created.json()["slug"]
    key = http.post(f"/v1/projects/{slug}/keys", json={"name": "SDK e2e"})
    assert key.status_code == 201, key.text
    return Project(server, slug, key.json()["key"], http)


@dataclass
class Errors:
    """An ``on_error`` that records every call (from the SDK's background thread)."""

    calls: list[tuple[LetterError, list[dict[str, Any]]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, error: LetterError, items: list[dict[str, Any]]) -> None:
        with self.lock:
            self.calls.append((error, items))


def source_state(source: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """What the import must produce: contacts by id, accounts by id (last row wins)."""
    contacts: dict[str, dict[str, Any]] = {}
    accounts: dict[str, dict[str, Any]] = {}
    connection = sqlite3.connect(source)
    try:
        for row in connection.execute("SELECT id, email, name, plan, signup_at, workspace_id,"
                                      " workspace_name, workspace_mrr FROM users ORDER BY id"):
            uid, email, name, plan, signup_at, ws, ws_name, mrr = row
            contacts[uid] = {"email": email, "account": ws,
                             "traits": {"name": name, "plan": plan, "signup_at": signup_at}}
            if ws is not None:
                accounts[ws] = {"name": ws_name, "traits": {"mrr": mrr}}
    finally:
        connection.close()
    return contacts, accounts
