"""Running the real ``letter`` binary as a user would, against a real server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BACKENDS, new_database
from tests.e2e.conftest import LiveServer, start_server, stop_server

LETTER = str(Path(sys.executable).parent / "letter")
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@dataclass
class Cli:
    """The ``letter`` command with its own home (config dir) and token."""

    server: LiveServer
    home: Path
    token: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "LETTER_API_URL": self.server.base_url,
            **self.extra_env,
        }
        if self.token:
            env["LETTER_PAT"] = self.token
        env.update(overrides)
        return env

    def run(
        self, *args: str, stdin: str | None = None, cwd: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LETTER, *args], env=self.env(**env), input=stdin, capture_output=True, text=True,
            timeout=60, check=False, cwd=cwd,
        )

    def ok(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        done = self.run(*args, stdin=stdin)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def json(self, *args: str, stdin: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", stdin=stdin).stdout)

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.request(method, self.server.base_url + path, headers=headers, **kwargs)


def bootstrap_user(server: LiveServer, email: str, workspace: str = "Acme") -> str:
    done = server.letter(
        "admin", "bootstrap", "--email", email, "--workspace", workspace,
        "--password", PASSWORD, "--json",
    )
    assert done.returncode == 0, done.stderr
    token: str = json.loads(done.stdout)["token"]
    return token


def browser_decides(base_url: str, email: str, user_code: str, action: str = "approve") -> str:
    """What a person does in the browser: sign in, then approve or deny."""
    with httpx.Client(base_url=base_url, follow_redirects=True) as browser:
        page = browser.get("/device", params={"user_code": user_code})
        assert "Sign in" in page.text, page.text
        signed = browser.post("/sign-in", data={
            "email": email, "password": PASSWORD, "next": f"/device?user_code={user_code}",
            "csrf_token": CSRF.findall(page.text)[0],
        })
        assert signed.status_code == 200 and user_code in signed.text, signed.text
        decided = browser.post("/device", data={
            "user_code": user_code, "action": action,
            "csrf_token": CSRF.findall(signed.text)[0],
        })
        assert decided.status_code == 200, decided.text
        return decided.text


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[LiveServer]:
    """One real server per backend for a module's tests (each test uses its own data)."""
    base = tmp_path_factory.mktemp("cli-server")
    with new_database(request.param, base) as url:
        live = start_server(base / "data", url)
        try:
            yield live
        finally:
            stop_server(live)


def new_workspace(server: LiveServer, home: Path) -> Cli:
    """A fresh owner in a fresh workspace, with its token in LETTER_PAT."""
    return Cli(server, home, bootstrap_user(server, f"{uuid.uuid4().hex[:8]}@example.com"))


def ingest(cli: Cli, project: str, *calls: dict[str, Any]) -> None:
    """Contacts, events and accounts the way a backend sends them."""
    key = cli.api("POST", f"/v1/projects/{project}/keys", json={"name": "test"}).json()["key"]
    response = httpx.post(
        cli.server.base_url + "/v1/batch", json={"batch": list(calls)},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
